import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_PRICE_CENTS,
  parseBoolean,
  parseCents,
  parseDayMonthYear,
  parseInstant,
  parseQuantity,
} from '../../../shared/input/index.js';

function formatCents(cents: number, decimals: 0 | 1 | 2): string {
  const sign = cents < 0 ? '-' : '';
  const magnitude = Math.abs(cents);
  const units = Math.floor(magnitude / 100);
  const fraction = String(magnitude % 100).padStart(2, '0');
  if (decimals === 2) return `${sign}${units}.${fraction}`;
  if (decimals === 1) return `${sign}${units}.${fraction[0]}`;
  return `${sign}${units}`;
}

describe('parseCents', () => {
  it.each([
    ['19.99', 1999],
    ['2.5', 250],
    ['2.50', 250],
    ['7', 700],
    ['0', 0],
    ['0.00', 0],
    ['-0.50', -50],
    ['-0.00', 0],
    ['007.05', 705],
    [' 3.10 ', 310],
    ['5000.00', 500_000],
  ])('reads %j as %i cents', (literal, cents) => {
    expect(parseCents(literal)).toBe(cents);
  });

  it.each([
    '1e3',
    '12.345',
    'abc',
    '',
    '+1.00',
    '.5',
    '5.',
    '1,000.00',
    '$5.00',
    '1.2.3',
    '--1',
    '-',
    '1 000',
    '99999999.99',
  ])('rejects %j', (literal) => {
    expect(parseCents(literal)).toBeNaN();
  });

  it('reads any 2-decimal amount exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_PRICE_CENTS, max: MAX_PRICE_CENTS }), (cents) => {
        expect(parseCents(formatCents(cents, 2))).toBe(cents);
      }),
    );
  });

  it('reads any 1-decimal and whole amount exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: -9_999_999, max: 9_999_999 }), (units) => {
        expect(parseCents(formatCents(units * 10, 1))).toBe(units * 10);
        expect(parseCents(formatCents(units * 100, 0))).toBe(units * 100);
      }),
    );
  });

  it('never yields a fraction of a cent', () => {
    fc.assert(
      fc.property(fc.string(), (literal) => {
        const cents = parseCents(literal);
        expect(Number.isNaN(cents) || Number.isSafeInteger(cents)).toBe(true);
      }),
    );
  });
});

describe('parseQuantity', () => {
  it.each([
    ['1', 1],
    ['12', 12],
    ['500', 500],
    ['01', 1],
    ['1000000', 1_000_000],
  ])('reads %j as %i', (literal, quantity) => {
    expect(parseQuantity(literal)).toBe(quantity);
  });

  it.each(['1.5', '1.0', '0', '-1', '+1', '1e2', 'abc', '', ' ', '1000001', '99999999999999999999'])(
    'rejects %j (never rounded)',
    (literal) => {
      expect(parseQuantity(literal)).toBeNaN();
    },
  );
});

describe('parseBoolean', () => {
  it.each([
    ['TRUE', true],
    ['true', true],
    ['True', true],
    ['1', true],
    ['FALSE', false],
    ['false', false],
    ['0', false],
    ['', false],
  ])('reads %j as %s', (literal, value) => {
    expect(parseBoolean(literal)).toBe(value);
  });

  it.each(['yes', 'Y', '2', 'TRUEE', 'f'])('rejects %j', (literal) => {
    expect(parseBoolean(literal)).toBeNull();
  });
});

describe('parseInstant', () => {
  it.each([
    ['2023-08-14T17:03:12.345Z', Date.UTC(2023, 7, 14, 17, 3, 12, 345)],
    ['2023-08-14T17:03:12Z', Date.UTC(2023, 7, 14, 17, 3, 12)],
    ['2023-08-14T17:03:12', Date.UTC(2023, 7, 14, 17, 3, 12)],
    ['2023-08-14 17:03:12.3', Date.UTC(2023, 7, 14, 17, 3, 12, 300)],
    ['2023-08-14T17:03', Date.UTC(2023, 7, 14, 17, 3)],
    ['2023-08-14T17:03:12.345678Z', Date.UTC(2023, 7, 14, 17, 3, 12, 345)],
    ['2023-08-14T13:03:12-04:00', Date.UTC(2023, 7, 14, 17, 3, 12)],
    ['2023-08-14T22:33:12+0530', Date.UTC(2023, 7, 14, 17, 3, 12)],
    ['2023-08-15T02:03:12+09', Date.UTC(2023, 7, 14, 17, 3, 12)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
  ])('reads %j', (literal, instant) => {
    expect(parseInstant(literal)).toBe(instant);
  });

  it.each([
    '2023-08-14',
    '2023-02-30T10:00:00Z',
    '2023-02-29T10:00:00Z',
    '1900-02-29T10:00:00Z',
    '2023-13-01T10:00:00Z',
    '2023-04-31T10:00:00Z',
    '2023-08-14T24:00:00Z',
    '2023-08-14T12:60:00Z',
    '2023-08-14T12:00:60Z',
    '2023-08-14T12:00:00.Z',
    '2023-08-14T12:00:00ZZ',
    '2023-08-14T12:00:00+5',
    '14-08-2023T12:00:00Z',
    '2023/08/14T12:00:00Z',
    '1969-12-31T23:59:59Z',
    'yesterday',
    '',
  ])('rejects %j', (literal) => {
    expect(parseInstant(literal)).toBeNaN();
  });

  it('agrees with Date for any instant written by toISOString', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), (instant) => {
        expect(parseInstant(new Date(instant).toISOString())).toBe(instant);
      }),
    );
  });

  it('honours any offset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 86_400_000, max: Date.UTC(2100, 0, 1) }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (instant, offsetMinutes) => {
          // Prepare
          const wall = new Date(instant + offsetMinutes * 60_000).toISOString().slice(0, 23);
          const sign = offsetMinutes < 0 ? '-' : '+';
          const magnitude = Math.abs(offsetMinutes);
          const offset = `${sign}${String(Math.floor(magnitude / 60)).padStart(2, '0')}:${String(magnitude % 60).padStart(2, '0')}`;
          // Act
          const parsed = parseInstant(`${wall}${offset}`);
          // Assess
          expect(parsed).toBe(instant);
        },
      ),
    );
  });
});

describe('parseDayMonthYear', () => {
  it.each([
    ['01-01-2023', '2023-01-01'],
    ['31-12-2023', '2023-12-31'],
    ['29-02-2024', '2024-02-29'],
  ])('reads %j as %j', (literal, date) => {
    expect(parseDayMonthYear(literal)).toBe(date);
  });

  it.each(['29-02-2023', '2023-01-01', '1-1-2023', '32-01-2023', '00-01-2023', '01-13-2023', ''])(
    'rejects %j',
    (literal) => {
      expect(parseDayMonthYear(literal)).toBeNull();
    },
  );
});
