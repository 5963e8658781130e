import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Candidate,
  Decision,
  decide,
  decideInOrder,
  keyString,
  lineKey,
  lineValueHash,
  optionKey,
  optionValueHash,
} from '../../../ingest/identity.js';
import type { LineItem, LineOption } from '../../../shared/schemas/input.js';

const line: LineItem = {
  appName: 'App',
  restaurantId: 'R1',
  createdAtMs: Date.parse('2023-08-14T17:03:12Z'),
  orderId: 'O1',
  userId: 'U1',
  printedCardNumber: null,
  isLoyalty: true,
  currency: 'USD',
  lineItemId: 'L1',
  category: 'Burgers',
  itemName: 'Cheese',
  unitPriceCents: 950,
  quantity: 1,
};

const option: LineOption = {
  orderId: 'O1',
  lineItemId: 'L1',
  groupName: 'Size',
  optionName: 'Large',
  priceCents: 150,
  quantity: 1,
};

const candidate = (
  row: number,
  valueHash: string,
  fileKey = 'folder:a.csv',
  contentHash = 'h1',
): Candidate => ({
  key: lineKey('O1', 'L1'),
  valueHash,
  fileKey,
  contentHash,
  row,
});

describe('decide', () => {
  it('claims a new identity, and names the first claimant in every other case', () => {
    // Prepare
    const first = { valueHash: 'v', fileKey: 'folder:a.csv', contentHash: 'h1', row: 3 };

    // Act
    const decisions = [
      decide(undefined, first),
      decide(first, first),
      decide(first, { ...first, row: 4 }),
      decide(first, { ...first, fileKey: 'drive:xyz' }),
      decide(first, { ...first, contentHash: 'h2' }),
      decide(first, { ...first, valueHash: 'w' }),
      decide(first, { ...first, row: 4, valueHash: 'w' }),
    ];

    // Assess
    expect(decisions).toEqual([
      Decision.Claim,
      Decision.OwnClaim,
      Decision.Duplicate,
      Decision.Duplicate,
      Decision.Duplicate,
      Decision.ConflictingDuplicate,
      Decision.ConflictingDuplicate,
    ]);
  });

  it('lets the first row of a file win over later rows of the same identity', () => {
    // Act
    const decisions = decideInOrder([candidate(1, 'v'), candidate(2, 'v'), candidate(3, 'w')], new Map());

    // Assess
    expect(decisions).toEqual([Decision.Claim, Decision.Duplicate, Decision.ConflictingDuplicate]);
  });

  it('accepts again the rows a crashed attempt of the same file version claimed', () => {
    // Prepare
    const existing = new Map([
      [
        keyString(lineKey('O1', 'L1')),
        { valueHash: 'v', fileKey: 'folder:a.csv', contentHash: 'h1', row: 1 },
      ],
    ]);

    // Act
    const sameVersion = decideInOrder([candidate(1, 'v'), candidate(2, 'v')], existing);
    const newVersion = decideInOrder([candidate(1, 'v', 'folder:a.csv', 'h2')], existing);

    // Assess
    expect(sameVersion).toEqual([Decision.OwnClaim, Decision.Duplicate]);
    expect(newVersion).toEqual([Decision.Duplicate]);
  });

  it('accepts exactly one row per identity whatever the order and repetition of rows (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.constantFrom('v', 'w')), { maxLength: 30 }),
        (rows) => {
          const candidates = rows.map(
            ([id, value], index): Candidate => ({
              key: lineKey('O', String(id)),
              valueHash: value,
              fileKey: 'folder:f',
              contentHash: 'h',
              row: index + 1,
            }),
          );
          const decisions = decideInOrder(candidates, new Map());
          const claimed = new Set<string>();
          candidates.forEach((entry, index) => {
            if (decisions[index] === Decision.Claim) {
              expect(claimed.has(keyString(entry.key))).toBe(false);
              claimed.add(keyString(entry.key));
            }
          });
          expect(claimed.size).toBe(new Set(candidates.map((entry) => keyString(entry.key))).size);
        },
      ),
    );
  });
});

describe('identities and value hashes', () => {
  it('hashes equal normalised values equally and any changed value differently', () => {
    // Act
    const same = lineValueHash({ ...line });
    const otherPrice = lineValueHash({ ...line, unitPriceCents: 951 });
    const otherLoyalty = lineValueHash({ ...line, isLoyalty: false });
    const otherOption = optionValueHash({ ...option, quantity: 2 });

    // Assess
    expect(same).toBe(lineValueHash(line));
    expect(otherPrice).not.toBe(same);
    expect(otherLoyalty).not.toBe(same);
    expect(otherOption).not.toBe(optionValueHash(option));
  });

  it('keeps identities apart even when ids contain the separators', () => {
    // Act
    const a = optionKey({ orderId: 'O1', lineItemId: 'L|1', groupName: 'G', optionName: 'N' });
    const b = optionKey({ orderId: 'O1', lineItemId: 'L', groupName: '1|G', optionName: 'N' });

    // Assess
    expect(keyString(a)).not.toBe(keyString(b));
    expect(lineKey('O#1', 'L').pk).toBe('row#O%231');
  });
});
