import { describe, expect, it } from 'vitest';
import { opsPage } from '../../../processors/dashboard/web/views.js';

describe('ops view', () => {
  it('flags a failing shard, with its error as the badge title', () => {
    // Act
    const html = opsPage.html(
      {
        now: 10_000,
        shards: [
          { shardId: 'shardId-000000000000', lagMs: 5, updatedAt: 9_000 },
          {
            shardId: 'shardId-000000000001',
            lagMs: 5,
            updatedAt: 9_000,
            error: 'ThrottlingException: <rate>',
          },
        ],
        poisonRecords: 0,
        quarantinedRows: 0,
        filesSetAside: 0,
        files: [],
        snapshot: null,
      },
      {} as never,
    );
    // Assess
    expect(html).toContain('<span class="badge ok">ok</span>');
    expect(html).toContain(
      '<span class="badge behind" title="ThrottlingException: &lt;rate&gt;">failing</span>',
    );
  });
});
