import { describe, expect, it } from 'vitest';
import { boundHeapGrowth } from '../../../ingest/heap.js';
import { loadSettings } from '../../../shared/config.js';

describe('boundHeapGrowth', () => {
  it('sets V8 heap growing percent once per value, and 0 gives V8 its own factor back', () => {
    // Prepare
    const flags: string[] = [];
    const setFlags = (flag: string) => {
      flags.push(flag);
    };

    // Act
    boundHeapGrowth(30, setFlags);
    boundHeapGrowth(30, setFlags);
    boundHeapGrowth(50, setFlags);
    boundHeapGrowth(0, setFlags);
    boundHeapGrowth(0, setFlags);

    // Assess
    expect(flags).toEqual([
      '--heap-growing-percent=30',
      '--heap-growing-percent=50',
      '--heap-growing-percent=0',
    ]);
  });

  it.each([-1, 301, 2.5, Number.NaN])('refuses %s without touching V8', (percent) => {
    // Prepare
    const flags: string[] = [];

    // Act
    const act = () => boundHeapGrowth(percent, (flag) => flags.push(flag));

    // Assess
    expect(act).toThrow(RangeError);
    expect(flags).toEqual([]);
  });
});

describe('pollHeapGrowingPercent setting', () => {
  it('defaults to 30 and reads TILLSTREAM_POLL_HEAP_GROWING_PERCENT', () => {
    // Act
    const fallback = loadSettings({});
    const off = loadSettings({ TILLSTREAM_POLL_HEAP_GROWING_PERCENT: '0' });
    const loose = loadSettings({ TILLSTREAM_POLL_HEAP_GROWING_PERCENT: '100' });

    // Assess
    expect(fallback.pollHeapGrowingPercent).toBe(30);
    expect(off.pollHeapGrowingPercent).toBe(0);
    expect(loose.pollHeapGrowingPercent).toBe(100);
  });

  it.each(['-5', '1.5', 'lots', '301'])('refuses %s, quoting it', (given) => {
    // Act
    const act = () => loadSettings({ TILLSTREAM_POLL_HEAP_GROWING_PERCENT: given });

    // Assess
    expect(act).toThrow(`(given "${given}")`);
  });
});

describe('pollMaxHeldOptions setting', () => {
  it('defaults to 20,000 and reads TILLSTREAM_POLL_MAX_HELD_OPTIONS', () => {
    // Act
    const fallback = loadSettings({});
    const small = loadSettings({ TILLSTREAM_POLL_MAX_HELD_OPTIONS: '500' });

    // Assess
    expect(fallback.pollMaxHeldOptions).toBe(20_000);
    expect(small.pollMaxHeldOptions).toBe(500);
  });

  it.each(['0', '-1', 'many'])('refuses %s', (given) => {
    // Act
    const act = () => loadSettings({ TILLSTREAM_POLL_MAX_HELD_OPTIONS: given });

    // Assess
    expect(act).toThrow('TILLSTREAM_POLL_MAX_HELD_OPTIONS');
  });
});
