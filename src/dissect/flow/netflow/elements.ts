/**
 * Which NetFlow v9 / IPFIX information elements become which flow column, as
 * nfdump 1.7.1 maps them (phaag/nfdump v1.7.1 src/netflow/netflow_v9.c
 * v9TranslationMap, src/netflow/ipfix.c ipfixTranslationMap; read for facts).
 *
 * A field maps to a Slot. Values are read big-endian at the field's length
 * (1..8 bytes) and then cut to the width nfdump stores them in (`bits`),
 * exactly as its sequencer assigns a uint64 to a narrower C member.
 * "Stack" slots keep the raw 64-bit value for post-processing (times, ICMP,
 * sampler id). Elements nfdump knows but that feed no flow column (masks,
 * next hops, MACs, VLANs, MPLS, NAT, ...) are KNOWN: they count for "the
 * template has a common element" (a template without one is ignored, as
 * nfcapd ignores it) but are skipped.
 */

export const Slot = {
  InBytes: 0, InPkts: 1, Proto: 2, SrcTos: 3, Fwd: 4, TcpFlags: 5, SrcPort: 6, Src4: 7, Input: 8, DstPort: 9, Dst4: 10, Output: 11, SrcAs: 12, DstAs: 13, SysA: 14, SysB: 15, OutBytes: 16, OutPkts: 17, Src6: 18, Dst6: 19, Icmp: 20, IcmpType: 21, IcmpCode: 22, DstTos: 23, Dir: 24, MsecFirst: 25, MsecLast: 26, SysInit: 27, SamplerId: 28, Duration: 29, Count: 30,
} as const;
export type Slot = (typeof Slot)[keyof typeof Slot];

/** Stored width in bits per slot (0 = stack only: the raw value, not cut). */
export const SLOT_BITS: readonly number[] = [
  64, 64, 8, 8, 8, 8, 16, 32, 32, 16, 32, 32,
  32, 32, 0, 0, 64, 64, 128, 128, 16, 0, 0, 8,
  8, 64, 64, 0, 0, 0,
];

/** No flow column: skipped (known or not). */
export const SKIP = -1;

type ElementMap = ReadonlyMap<number, number>;

const common: Array<[number, number]> = [
  [1, Slot.InBytes], [2, Slot.InPkts], [4, Slot.Proto], [5, Slot.SrcTos], [6, Slot.TcpFlags],
  [7, Slot.SrcPort], [8, Slot.Src4], [10, Slot.Input], [11, Slot.DstPort], [12, Slot.Dst4], [14, Slot.Output],
  [16, Slot.SrcAs], [17, Slot.DstAs], [23, Slot.OutBytes], [24, Slot.OutPkts], [27, Slot.Src6], [28, Slot.Dst6],
  [55, Slot.DstTos], [61, Slot.Dir], [152, Slot.MsecFirst], [153, Slot.MsecLast], [48, Slot.SamplerId], [302, Slot.SamplerId],
  [85, Slot.InBytes], [86, Slot.InPkts],
];

/**
 * NetFlow v9. 21 LAST_SWITCHED / 22 FIRST_SWITCHED are sysUptime-relative
 * (SysA = last, SysB = first); 32 ICMP_TYPE is type*256+code; 176..179 ICMP
 * type/code; 89 forwarding status; Cisco ASA NSEL counters 231/232/298/299.
 */
export const V9_ELEMENTS: ElementMap = new Map<number, number>([
  ...common,
  [89, Slot.Fwd], [21, Slot.SysA], [22, Slot.SysB], [32, Slot.Icmp],
  [176, Slot.IcmpType], [178, Slot.IcmpType], [177, Slot.IcmpCode], [179, Slot.IcmpCode],
  [231, Slot.InBytes], [232, Slot.OutBytes], [298, Slot.InPkts], [299, Slot.OutPkts],
]);

/**
 * IPFIX. nfdump 1.7.1 maps 21 flowEndSysUpTime to its "first" stack slot and
 * 22 flowStartSysUpTime to "last" (SysA = element 21, SysB = element 22, used
 * as nfdump uses them); it has no forwardingStatus (89); 158/159 (delta
 * microseconds) are copied into the millisecond times as they are; 171/172
 * are the reverse totals; 32/139 ICMP type*256+code; 160 systemInitTime; 161
 * duration in ms.
 */
export const IPFIX_ELEMENTS: ElementMap = new Map<number, number>([
  ...common,
  [21, Slot.SysA], [22, Slot.SysB], [160, Slot.SysInit], [32, Slot.Icmp], [139, Slot.Icmp],
  [158, Slot.MsecFirst], [159, Slot.MsecLast], [161, Slot.Duration], [171, Slot.OutBytes], [172, Slot.OutPkts],
]);

/** IPFIX reverse elements (PEN 29305) nfdump maps to the post counters; other reverse elements keep their own id. */
export const IPFIX_REVERSE = new Map<number, number>([[85, 171], [86, 172], [1, 23], [2, 24]]);
export const REVERSE_PEN = 29305;

/** Further elements nfdump knows (no flow column here). */
const KNOWN_V9 = [3, 9, 13, 15, 18, 29, 30, 38, 39, 56, 57, 58, 59, 62, 63, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 95, 128, 129,
  148, 160, 225, 226, 227, 228, 230, 233, 234, 235, 243, 254, 281, 282, 283, 323, 361, 362, 363, 364, 33000, 33001, 33002,
  40000, 40001, 40002, 40003, 40004, 40005, 57554, 57555, 57556, 57557, 57558, 57559];
const KNOWN_IPFIX = [3, 9, 13, 15, 18, 29, 30, 38, 39, 56, 57, 58, 59, 62, 63, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 95,
  136, 138, 149, 225, 226, 227, 228, 230, 234, 235, 239, 292, 293, 323];

export const V9_KNOWN = new Set<number>([...V9_ELEMENTS.keys(), ...KNOWN_V9]);
export const IPFIX_KNOWN = new Set<number>([...IPFIX_ELEMENTS.keys(), ...KNOWN_IPFIX]);
