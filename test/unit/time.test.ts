import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addDays,
  Daypart,
  daypart,
  daysBetween,
  isCalendarDate,
  isoWeek,
  isValidTimeZone,
  month,
  offsetMinutes,
  toLocalTime,
} from '../../aggregates/time.js';

const at = (iso: string): number => Date.parse(iso);

describe('toLocalTime across DST changes', () => {
  it.each([
    // America/New_York springs forward on 2023-03-12 at 02:00 EST → 03:00 EDT.
    ['America/New_York', '2023-03-12T05:30:00Z', '2023-03-12', 0],
    ['America/New_York', '2023-03-12T06:59:59Z', '2023-03-12', 1],
    ['America/New_York', '2023-03-12T07:00:00Z', '2023-03-12', 3],
    ['America/New_York', '2023-03-12T04:59:59Z', '2023-03-11', 23],
    // It falls back on 2023-11-05 at 02:00 EDT → 01:00 EST.
    ['America/New_York', '2023-11-05T04:30:00Z', '2023-11-05', 0],
    ['America/New_York', '2023-11-05T03:59:59Z', '2023-11-04', 23],
    ['America/New_York', '2023-11-05T07:00:00Z', '2023-11-05', 2],
    // Europe/London springs forward on 2023-03-26 at 01:00 GMT → 02:00 BST.
    ['Europe/London', '2023-03-26T00:30:00Z', '2023-03-26', 0],
    ['Europe/London', '2023-03-26T01:00:00Z', '2023-03-26', 2],
    // It falls back on 2023-10-29 at 02:00 BST → 01:00 GMT: 00:30 BST is still 23:30 UTC the day before.
    ['Europe/London', '2023-10-28T23:30:00Z', '2023-10-29', 0],
    ['Europe/London', '2023-10-29T02:00:00Z', '2023-10-29', 2],
  ])('%s: %s is %s, hour %i', (zone, instant, localDate, hour) => {
    expect(toLocalTime(at(instant), zone)).toEqual({ localDate, hour });
  });

  it.each([
    ['America/New_York', '2023-11-05T05:30:00Z', '2023-11-05T06:30:00Z'],
    ['Europe/London', '2023-10-29T00:30:00Z', '2023-10-29T01:30:00Z'],
  ])('%s: both instants of the ambiguous 01:30 on the fall-back day are 01 local', (zone, first, second) => {
    // Act
    const earlier = toLocalTime(at(first), zone);
    const later = toLocalTime(at(second), zone);
    // Assess
    expect(at(second) - at(first)).toBe(3_600_000);
    expect(earlier).toEqual({ localDate: first.slice(0, 10), hour: 1 });
    expect(later).toEqual(earlier);
  });

  it('gives the summer and winter offsets', () => {
    expect(offsetMinutes(at('2023-07-01T12:00:00Z'), 'America/New_York')).toBe(-240);
    expect(offsetMinutes(at('2023-01-01T12:00:00Z'), 'America/New_York')).toBe(-300);
    expect(offsetMinutes(at('2023-07-01T12:00:00Z'), 'Europe/London')).toBe(60);
    expect(offsetMinutes(at('2023-01-01T12:00:00Z'), 'Europe/London')).toBe(0);
  });
});

describe('toLocalTime in zones with 30- and 45-minute offsets', () => {
  it.each([
    ['Asia/Kolkata', '2023-08-14T18:29:59Z', '2023-08-14', 23],
    ['Asia/Kolkata', '2023-08-14T18:30:00Z', '2023-08-15', 0],
    ['Asia/Kolkata', '2023-08-14T03:29:59Z', '2023-08-14', 8],
    ['Asia/Kathmandu', '2023-08-14T18:14:59Z', '2023-08-14', 23],
    ['Asia/Kathmandu', '2023-08-14T18:15:00Z', '2023-08-15', 0],
    ['Asia/Kathmandu', '2023-08-14T00:14:00Z', '2023-08-14', 5],
    // St John's changed its clocks at 00:01 local (03:31 UTC) until 2011: not on a quarter hour.
    ['America/St_Johns', '1991-04-07T03:30:59Z', '1991-04-07', 0],
    ['America/St_Johns', '1991-04-07T03:31:00Z', '1991-04-07', 1],
    ['America/St_Johns', '1991-04-07T03:44:00Z', '1991-04-07', 1],
  ])('%s: %s is %s, hour %i', (zone, instant, localDate, hour) => {
    expect(toLocalTime(at(instant), zone)).toEqual({ localDate, hour });
  });

  it('knows the offsets', () => {
    expect(offsetMinutes(at('2023-08-14T00:00:00Z'), 'Asia/Kolkata')).toBe(330);
    expect(offsetMinutes(at('2023-08-14T00:00:00Z'), 'Asia/Kathmandu')).toBe(345);
  });
});

describe('toLocalTime against Intl', () => {
  const zones = [
    'America/New_York',
    'America/Chicago',
    'America/Los_Angeles',
    'America/St_Johns',
    'Europe/London',
    'Europe/Berlin',
    'Asia/Kolkata',
    'Asia/Kathmandu',
    'Australia/Lord_Howe',
    'Pacific/Chatham',
    'UTC',
  ];

  it('agrees for any instant in any zone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2037, 11, 31) }),
        fc.constantFrom(...zones),
        (instant, zone) => {
          // Prepare
          const parts = new Intl.DateTimeFormat('en-CA', {
            timeZone: zone,
            year: 'numeric',
            month: '2-digit',
            day: '2-digit',
            hour: '2-digit',
            hourCycle: 'h23',
          }).formatToParts(new Date(instant));
          const part = (type: string): string => parts.find((candidate) => candidate.type === type)!.value;
          // Act
          const local = toLocalTime(instant, zone);
          // Assess
          expect(local).toEqual({
            localDate: `${part('year')}-${part('month')}-${part('day')}`,
            hour: Number(part('hour')),
          });
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('isoWeek', () => {
  it.each([
    ['2020-12-31', '2020-W53'],
    ['2021-01-03', '2020-W53'],
    ['2021-01-04', '2021-W01'],
    ['2024-12-29', '2024-W52'],
    ['2024-12-30', '2025-W01'],
    ['2023-01-01', '2022-W52'],
    ['2023-01-02', '2023-W01'],
    ['2023-08-14', '2023-W33'],
    ['2026-12-31', '2026-W53'],
    ['2027-01-03', '2026-W53'],
    ['2015-12-31', '2015-W53'],
    ['2008-12-29', '2009-W01'],
  ])('%s is %s', (date, week) => {
    expect(isoWeek(date)).toBe(week);
  });

  it('starts every week on a Monday and numbers consecutive weeks', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30_000 }), (offset) => {
        // Prepare
        const date = addDays('1990-01-01', offset);
        const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
        // Act
        const week = isoWeek(date);
        const nextDayWeek = isoWeek(addDays(date, 1));
        // Assess
        if (weekday === 0) expect(nextDayWeek).not.toBe(week);
        else expect(nextDayWeek).toBe(week);
        expect(Number(week.slice(6))).toBeGreaterThanOrEqual(1);
        expect(Number(week.slice(6))).toBeLessThanOrEqual(53);
      }),
    );
  });
});

describe('daypart', () => {
  it.each([
    [4, Daypart.Late],
    [5, Daypart.Breakfast],
    [10, Daypart.Breakfast],
    [11, Daypart.Lunch],
    [14, Daypart.Lunch],
    [15, Daypart.Afternoon],
    [16, Daypart.Afternoon],
    [17, Daypart.Dinner],
    [20, Daypart.Dinner],
    [21, Daypart.Late],
    [23, Daypart.Late],
    [0, Daypart.Late],
  ])('hour %i is %s', (hour, part) => {
    expect(daypart(hour)).toBe(part);
  });
});

describe('calendar arithmetic', () => {
  it('moves and measures dates across month, year and leap-day ends', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2023-01-01', -1)).toBe('2022-12-31');
    expect(daysBetween('2023-01-01', '2023-12-31')).toBe(364);
    expect(daysBetween('2024-03-01', '2024-02-01')).toBe(-29);
    expect(month('2023-08-14')).toBe('2023-08');
  });

  it('tells valid IANA zones from others', () => {
    expect(isValidTimeZone('America/New_York')).toBe(true);
    expect(isValidTimeZone('Asia/Kathmandu')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });
});

describe('isCalendarDate', () => {
  it('takes dates of the calendar only', () => {
    for (const date of ['2023-02-28', '2024-02-29', '2023-12-31', '1970-01-01'])
      expect(isCalendarDate(date)).toBe(true);
    for (const date of [
      '2023-02-29',
      '2023-02-30',
      '2024-02-30',
      '2023-04-31',
      '2023-13-01',
      '2023-00-10',
      '2023-1-01',
      '23-01-01',
      '',
    ])
      expect(isCalendarDate(date)).toBe(false);
  });
});
