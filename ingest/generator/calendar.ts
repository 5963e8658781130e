/**
 * The chain's calendar file (`date_dim.csv`) for any range of years: US federal holidays named as
 * the chain platform names them, ISO week numbers, DD-MM-YYYY keys and `TRUE`/`FALSE` flags.
 */
import { dateFromDayNumber, dayNumber, isoWeek } from '../../aggregates/time.js';

export const DATE_DIM_HEADER = 'date_key,year,month,week,day_of_week,is_weekend,is_holiday,holiday_name';

/** Holiday names exactly as the chain platform's calendar spells them. */
export const HolidayName = {
  NewYearsDay: "New Year's Day",
  MartinLutherKing: 'Martin Luther King Jr.',
  WashingtonsBirthday: "Washington's Birthday",
  MemorialDay: 'Memorial Day',
  Juneteenth: 'Juneteenth',
  IndependenceDay: 'Indep. Day',
  LaborDay: 'Labor Day',
  ColumbusDay: 'Columbus Day',
  VeteransDay: 'Veterans Day',
  Thanksgiving: 'Thanksgiving Day',
  Christmas: 'Christmas',
} as const;
export type HolidayName = (typeof HolidayName)[keyof typeof HolidayName];

const OBSERVED_SUFFIX = ' Observed';
const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

/** 0 = Monday … 6 = Sunday. */
export function weekdayIndex(localDate: string): number {
  // 1970-01-01 was a Thursday (index 3).
  return (((dayNumber(localDate) + 3) % 7) + 7) % 7;
}

function isoDate(year: number, month: number, day: number): string {
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** The `nth` (1-based) given weekday (0 = Monday) of a month. */
function nthWeekday(year: number, month: number, weekday: number, nth: number): string {
  const first = isoDate(year, month, 1);
  const offset = (weekday - weekdayIndex(first) + 7) % 7;
  return dateFromDayNumber(dayNumber(first) + offset + (nth - 1) * 7);
}

/** The last given weekday of a month. */
function lastWeekday(year: number, month: number, weekday: number): string {
  const nextMonthFirst = month === 12 ? isoDate(year + 1, 1, 1) : isoDate(year, month + 1, 1);
  const last = dayNumber(nextMonthFirst) - 1;
  const back = (weekdayIndex(dateFromDayNumber(last)) - weekday + 7) % 7;
  return dateFromDayNumber(last - back);
}

/**
 * The US federal holidays of a year, local date → name. A fixed-date holiday on a Sunday adds
 * `<name> Observed` on the Monday; one on a Saturday adds nothing, as in the chain platform's own
 * calendar (its 2023 file marks 02-01-2023 but not Friday 10-11-2023). Juneteenth from 2021.
 */
export function usFederalHolidays(year: number): ReadonlyMap<string, string> {
  const holidays = new Map<string, string>();
  const fixed = (month: number, day: number, name: HolidayName): void => {
    const date = isoDate(year, month, day);
    holidays.set(date, name);
    if (weekdayIndex(date) === 6)
      holidays.set(dateFromDayNumber(dayNumber(date) + 1), name + OBSERVED_SUFFIX);
  };
  fixed(1, 1, HolidayName.NewYearsDay);
  holidays.set(nthWeekday(year, 1, 0, 3), HolidayName.MartinLutherKing);
  holidays.set(nthWeekday(year, 2, 0, 3), HolidayName.WashingtonsBirthday);
  holidays.set(lastWeekday(year, 5, 0), HolidayName.MemorialDay);
  if (year >= 2021) fixed(6, 19, HolidayName.Juneteenth);
  fixed(7, 4, HolidayName.IndependenceDay);
  holidays.set(nthWeekday(year, 9, 0, 1), HolidayName.LaborDay);
  holidays.set(nthWeekday(year, 10, 0, 2), HolidayName.ColumbusDay);
  fixed(11, 11, HolidayName.VeteransDay);
  holidays.set(nthWeekday(year, 11, 3, 4), HolidayName.Thanksgiving);
  fixed(12, 25, HolidayName.Christmas);
  return holidays;
}

/** The holiday on a local date, or `null`. */
export function holidayOn(localDate: string): string | null {
  return usFederalHolidays(Number(localDate.slice(0, 4))).get(localDate) ?? null;
}

/** One `date_dim.csv` record (without line terminator) for a local date. */
export function dateDimRow(localDate: string, holidayName: string | null): string {
  const year = localDate.slice(0, 4);
  const month = Number(localDate.slice(5, 7));
  const day = localDate.slice(8, 10);
  const weekday = weekdayIndex(localDate);
  const week = Number(isoWeek(localDate).slice(6));
  const weekend = weekday >= 5 ? 'TRUE' : 'FALSE';
  const holiday = holidayName === null ? 'FALSE' : 'TRUE';
  return `${day}-${localDate.slice(5, 7)}-${year},${year},${month},${week},${WEEKDAY_NAMES[weekday]},${weekend},${holiday},${holidayName ?? ''}`;
}

/** Every `date_dim` record of whole calendar years `fromYear` … `toYear`, in date order. */
export function dateDimRows(fromYear: number, toYear: number): string[] {
  const rows: string[] = [];
  for (let year = fromYear; year <= toYear; year++) {
    const holidays = usFederalHolidays(year);
    const last = dayNumber(isoDate(year, 12, 31));
    for (let day = dayNumber(isoDate(year, 1, 1)); day <= last; day++) {
      const date = dateFromDayNumber(day);
      rows.push(dateDimRow(date, holidays.get(date) ?? null));
    }
  }
  return rows;
}
