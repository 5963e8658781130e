import { describe, expect, it } from 'vitest';
import { PROGRESS_EVERY_MS, progressLog } from '../../shared/progress.js';

describe('progressLog', () => {
  it('lets a line through at most every PROGRESS_EVERY_MS, building it only then', () => {
    // Prepare
    let now = 0;
    const lines: string[] = [];
    let built = 0;
    const progress = progressLog(
      (line) => lines.push(line),
      () => now,
    );
    const line = () => `line ${++built}`;
    // Act
    progress(line);
    now = PROGRESS_EVERY_MS - 1;
    progress(line);
    now = PROGRESS_EVERY_MS;
    progress(line);
    now = PROGRESS_EVERY_MS + 5;
    progress(line);
    now = 2 * PROGRESS_EVERY_MS;
    progress(line);
    // Assess
    expect(lines).toEqual(['line 1', 'line 2']);
    expect(built).toBe(2);
  });
});
