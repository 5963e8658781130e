import { describe, expect, it } from 'vitest';
import { dateDimRow, dateDimRows, holidayOn, usFederalHolidays } from '../../../ingest/generator/calendar.js';

describe('date_dim calendar', () => {
  it('writes the chain platform holidays of 2023 as its own calendar names them', () => {
    // Act
    const rows = dateDimRows(2023, 2023);

    // Assess
    expect(rows).toHaveLength(365);
    expect(rows).toContain("01-01-2023,2023,1,52,Sunday,TRUE,TRUE,New Year's Day");
    expect(rows).toContain("02-01-2023,2023,1,1,Monday,FALSE,TRUE,New Year's Day Observed");
    expect(rows).toContain('04-07-2023,2023,7,27,Tuesday,FALSE,TRUE,Indep. Day');
    expect(rows).toContain('23-11-2023,2023,11,47,Thursday,FALSE,TRUE,Thanksgiving Day');
    expect(rows).toContain('25-12-2023,2023,12,52,Monday,FALSE,TRUE,Christmas');
    expect(rows).toContain('16-01-2023,2023,1,3,Monday,FALSE,TRUE,Martin Luther King Jr.');
    expect(rows).toContain('03-01-2023,2023,1,1,Tuesday,FALSE,FALSE,');
    expect(rows.filter((row) => row.includes(',TRUE,TRUE,') || row.includes(',FALSE,TRUE,'))).toHaveLength(
      12,
    );
  });

  it('computes the floating holidays of any year', () => {
    // Act
    const holidays2024 = usFederalHolidays(2024);
    const holidays2022 = usFederalHolidays(2022);

    // Assess
    expect(holidays2024.get('2024-11-28')).toBe('Thanksgiving Day');
    expect(holidays2024.get('2024-05-27')).toBe('Memorial Day');
    expect(holidays2024.get('2024-01-15')).toBe('Martin Luther King Jr.');
    expect(holidays2024.get('2024-09-02')).toBe('Labor Day');
    expect(holidays2024.get('2024-10-14')).toBe('Columbus Day');
    // Christmas 2022 fell on a Sunday: observed on Monday the 26th.
    expect(holidays2022.get('2022-12-26')).toBe('Christmas Observed');
    // Juneteenth is a federal holiday from 2021 only.
    expect(usFederalHolidays(2020).has('2020-06-19')).toBe(false);
    expect(holidayOn('2023-08-14')).toBeNull();
  });

  it('numbers weeks the ISO way across a year boundary', () => {
    expect(dateDimRow('2024-12-30', null)).toBe('30-12-2024,2024,12,1,Monday,FALSE,FALSE,');
    expect(dateDimRow('2021-01-03', null)).toBe('03-01-2021,2021,1,53,Sunday,TRUE,FALSE,');
  });
});
