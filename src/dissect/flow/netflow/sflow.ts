/** sFlow v5 (placeholder until the decoder lands): every sFlow datagram is reported as not decoded. */
import type { FlowRecord } from '../flow-row.ts';

export class SflowDecoder {
  constructor(_onFlow: (rec: FlowRecord, agent: string, subAgent: number) => void) {}
  decode(_b: Uint8Array, _meta: { exporter: string; arrivalMs: number }): string | undefined {
    return 'sFlow v5 is not decoded yet';
  }
}
