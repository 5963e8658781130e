import { describe, expect, it } from 'vitest';
import { attributeValueSize, dynamoItemSize, writeCapacityUnits } from '../../bench/dynamo-cost.js';

describe('attributeValueSize', () => {
  it('counts strings in UTF-8 bytes, not characters', () => {
    // Assess
    expect(attributeValueSize('abc')).toBe(3);
    expect(attributeValueSize('café')).toBe(5);
    expect(attributeValueSize('')).toBe(0);
  });

  it.each([
    [0, 2],
    [7, 2],
    [12, 2],
    [123, 3],
    [1000, 2],
    [123_456_789, 6],
    [-5, 3],
    [0.0012, 2],
    [12.5, 3],
  ])(
    'sizes the number %d as %d bytes (1 per two significant digits, + 1, + 1 if negative)',
    (value, bytes) => {
      // Assess
      expect(attributeValueSize(value)).toBe(bytes);
    },
  );

  it('sizes booleans, null, binary, lists, maps and sets', () => {
    // Assess
    expect(attributeValueSize(true)).toBe(1);
    expect(attributeValueSize(null)).toBe(1);
    expect(attributeValueSize(new Uint8Array(10))).toBe(10);
    expect(attributeValueSize([])).toBe(3);
    expect(attributeValueSize(['ab', 1])).toBe(3 + (1 + 2) + (1 + 2));
    expect(attributeValueSize({})).toBe(3);
    expect(attributeValueSize({ ab: 'xyz' })).toBe(3 + 1 + 2 + 3);
    expect(attributeValueSize(new Set(['a', 'bc']))).toBe(3);
  });
});

describe('dynamoItemSize', () => {
  it('adds attribute names to their values and ignores undefined attributes', () => {
    // Prepare
    const item = { pk: 'L#1', sk: 'D#2023-08-14', o: 12, gone: undefined };

    // Act
    const size = dynamoItemSize(item);

    // Assess
    expect(size).toBe(2 + 3 + 2 + 12 + 1 + 2);
  });
});

describe('writeCapacityUnits', () => {
  it.each([
    [0, 0, 1],
    [100, 1024, 1],
    [1024, 1025, 2],
    [3000, 10, 3],
    [2048, 2049, 3],
  ])('bills %d → %d bytes as %d WCU (started KB of the larger size)', (before, after, units) => {
    // Assess
    expect(writeCapacityUnits(before, after)).toBe(units);
  });
});
