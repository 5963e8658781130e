import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDays, toLocalTime } from '../../../aggregates/time.js';
import {
  arrivalKey,
  arrivalsOfLines,
  type Closure,
  dueAt,
  localInstant,
  minutesOfDay,
  missingUploads,
  UploadDeadlineError,
  type UploadingLocation,
} from '../../../ingest/status/missing-uploads.js';

const deadline = { dueLocalTime: '10:00', dueDaysAfter: 1, lookbackDays: 7 } as const;
const losAngeles: UploadingLocation = {
  locationId: 'la01',
  timeZone: 'America/Los_Angeles',
  firstLocalDate: '2024-01-01',
};
const newYork: UploadingLocation = {
  locationId: 'ny01',
  timeZone: 'America/New_York',
  firstLocalDate: '2024-01-01',
};

/** Every date of the lookback window arrived, but `except`. */
function arrivedExcept(
  locations: readonly UploadingLocation[],
  nowMs: number,
  except: readonly { locationId: string; localDate: string }[],
): Set<string> {
  const arrived = new Set<string>();
  for (const location of locations) {
    const today = toLocalTime(nowMs, location.timeZone).localDate;
    for (let back = 0; back <= 10; back++)
      arrived.add(arrivalKey(location.locationId, addDays(today, -back)));
  }
  for (const gap of except) arrived.delete(arrivalKey(gap.locationId, gap.localDate));
  return arrived;
}

describe('missingUploads', () => {
  it('is past the cutoff in New York and not yet in Los Angeles at the same instant', () => {
    // Prepare: 16:30Z is 11:30 in New York (EST) and 08:30 in Los Angeles (PST).
    const nowMs = Date.parse('2024-03-05T16:30:00Z');
    const gaps = [
      { locationId: 'la01', localDate: '2024-03-04' },
      { locationId: 'ny01', localDate: '2024-03-04' },
    ];
    // Act
    const missing = missingUploads({
      ...deadline,
      locations: [losAngeles, newYork],
      arrived: arrivedExcept([losAngeles, newYork], nowMs, gaps),
      closures: [],
      nowMs,
    });
    // Assess
    expect(missing).toEqual([
      { locationId: 'ny01', localDate: '2024-03-04', dueAtMs: Date.parse('2024-03-05T15:00:00Z') },
    ]);
  });

  it('reports Los Angeles once its own 10:00 has passed', () => {
    // Prepare
    const nowMs = Date.parse('2024-03-05T18:00:00Z');
    // Act
    const missing = missingUploads({
      ...deadline,
      locations: [losAngeles, newYork],
      arrived: arrivedExcept([losAngeles, newYork], nowMs, [{ locationId: 'la01', localDate: '2024-03-04' }]),
      closures: [],
      nowMs,
    });
    // Assess
    expect(missing).toEqual([
      { locationId: 'la01', localDate: '2024-03-04', dueAtMs: Date.parse('2024-03-05T18:00:00Z') },
    ]);
  });

  it.each([
    // Spring forward (2024-03-10): 10:00 EDT is 14:00Z, an hour earlier than a fixed EST offset says.
    { date: '2024-03-09', dueIso: '2024-03-10T14:00:00Z' },
    // Fall back (2024-11-03): 10:00 EST is 15:00Z, an hour later than a fixed EDT offset says.
    { date: '2024-11-02', dueIso: '2024-11-03T15:00:00Z' },
  ])('follows the DST change when the due day is $dueIso', ({ date, dueIso }) => {
    // Prepare
    const dueMs = Date.parse(dueIso);
    const input = (nowMs: number) => ({
      ...deadline,
      locations: [newYork],
      arrived: arrivedExcept([newYork], nowMs, [{ locationId: 'ny01', localDate: date }]),
      closures: [],
      nowMs,
    });
    // Act
    const justBefore = missingUploads(input(dueMs - 60_000));
    const atDue = missingUploads(input(dueMs));
    // Assess
    expect(justBefore).toEqual([]);
    expect(atDue).toEqual([{ locationId: 'ny01', localDate: date, dueAtMs: dueMs }]);
  });

  it('leaves out closed days (one location or ALL), dates before the first upload and before the window', () => {
    // Prepare: New York at 12:00 EDT on 2024-06-20; nothing arrived in the window.
    const nowMs = Date.parse('2024-06-20T16:00:00Z');
    const opened: UploadingLocation = { ...newYork, locationId: 'ny02', firstLocalDate: '2024-06-17' };
    const closures: Closure[] = [
      { locationId: 'ny01', from: '2024-06-14', to: '2024-06-15' },
      { locationId: 'ALL', from: '2024-06-18', to: '2024-06-18', note: 'inventory' },
      { locationId: 'elsewhere', from: '2024-06-01', to: '2024-06-30' },
    ];
    // Act
    const missing = missingUploads({
      ...deadline,
      locations: [newYork, opened],
      arrived: new Set(),
      closures,
      nowMs,
    });
    // Assess: the window is 06-13 … 06-20; 06-19 is due at 10:00 today, 06-20 tomorrow.
    expect(missing.map((gap) => `${gap.locationId} ${gap.localDate}`)).toEqual([
      'ny01 2024-06-13',
      'ny01 2024-06-16',
      'ny01 2024-06-17',
      'ny02 2024-06-17',
      'ny01 2024-06-19',
      'ny02 2024-06-19',
    ]);
  });

  it('honours a same-day deadline and a custom time', () => {
    // Prepare: due at 23:30 the same local day.
    const nowMs = Date.parse('2024-06-21T03:45:00Z'); // 23:45 EDT on 06-20
    // Act
    const missing = missingUploads({
      dueLocalTime: '23:30',
      dueDaysAfter: 0,
      lookbackDays: 0,
      locations: [newYork],
      arrived: new Set(),
      closures: [],
      nowMs,
    });
    // Assess
    expect(missing).toEqual([
      { locationId: 'ny01', localDate: '2024-06-20', dueAtMs: Date.parse('2024-06-21T03:30:00Z') },
    ]);
  });
});

describe('localInstant', () => {
  it('resolves a skipped time forward and a repeated time to its first occurrence', () => {
    // Act / Assess
    expect(new Date(localInstant('2024-03-10', 150, 'America/New_York')).toISOString()).toBe(
      '2024-03-10T07:30:00.000Z',
    );
    expect(new Date(localInstant('2024-11-03', 90, 'America/New_York')).toISOString()).toBe(
      '2024-11-03T05:30:00.000Z',
    );
    expect(new Date(localInstant('2024-07-01', 600, 'Asia/Kolkata')).toISOString()).toBe(
      '2024-07-01T04:30:00.000Z',
    );
  });

  it('lands on the asked local date and hour for whole-hour times in many zones', () => {
    const zones = [
      'America/Los_Angeles',
      'America/New_York',
      'America/St_Johns',
      'Europe/London',
      'Australia/Lord_Howe',
      'Pacific/Kiritimati',
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3650 }),
        fc.integer({ min: 4, max: 23 }),
        fc.constantFrom(...zones),
        (dayOffset, hour, timeZone) => {
          const localDate = addDays('2020-01-01', dayOffset);
          const local = toLocalTime(localInstant(localDate, hour * 60, timeZone), timeZone);
          expect(local).toEqual({ localDate, hour });
        },
      ),
    );
  });
});

describe('deadline parts', () => {
  it('parses HH:MM and refuses anything else', () => {
    expect(minutesOfDay('10:00')).toBe(600);
    expect(minutesOfDay('23:59')).toBe(1439);
    for (const bad of ['24:00', '9:00', '10:60', '', '10:00:00']) {
      expect(() => minutesOfDay(bad)).toThrow(UploadDeadlineError);
    }
  });

  it('dates a due time the given days after the local date', () => {
    expect(new Date(dueAt('2024-12-31', 'America/Los_Angeles', deadline)).toISOString()).toBe(
      '2025-01-01T18:00:00.000Z',
    );
  });

  it('takes the arrivals of lines by their location-local date, once each', () => {
    // Prepare: 05:30Z is 00:30 in New York (EDT) but 22:30 the day before in Los Angeles.
    const createdAtMs = Date.parse('2024-06-20T05:30:00Z');
    // Act
    const arrivals = arrivalsOfLines([
      { restaurantId: 'ny01', timeZone: 'America/New_York', createdAtMs },
      { restaurantId: 'la01', timeZone: 'America/Los_Angeles', createdAtMs },
      { restaurantId: 'la01', timeZone: 'America/Los_Angeles', createdAtMs: createdAtMs + 60_000 },
    ]);
    // Assess
    expect(arrivals).toEqual([
      { locationId: 'ny01', localDate: '2024-06-20' },
      { locationId: 'la01', localDate: '2024-06-19' },
    ]);
  });
});
