/** A delta in a form that compares by content: its counters as a record, whatever their order. */
import { deltaCounters, type ItemDelta } from '../../../aggregates/delta.js';
import type { ItemKey } from '../../../aggregates/keys.js';

export interface DeltaForm {
  readonly key: ItemKey;
  readonly counters: Record<string, number>;
  readonly labels: Readonly<Record<string, string>>;
  /** Counter names are distinct (a list could name one twice; a record cannot show it). */
  readonly distinctNames: boolean;
}

export const deltaForm = (delta: ItemDelta): DeltaForm => ({
  key: delta.key,
  counters: deltaCounters(delta),
  labels: delta.labels,
  distinctNames: new Set(delta.names).size === delta.names.length,
});
