/**
 * A minimal Apache Thrift client: TBinaryProtocol (strict) over a buffered
 * (unframed) TCP transport, which is what a Hive Metastore speaks by default
 * (`metastore.thrift.framed.transport.enabled=false`, no SASL).
 *
 * Why hand-written: we call six metastore methods. The npm `thrift` runtime
 * would need ~1 MB of code generated from hive_metastore.thrift (plus fb303)
 * checked in and regenerated per Hive version; the wire format below is small,
 * stable since 2008, and the field ids we use have not changed across Hive
 * 1.x..4.x (new fields are only ever appended as optional).
 *
 * Wire grammar (all integers big-endian):
 *
 *   message    := i32(0x80010000 | mtype) string(name) i32(seqid) struct(args or result)
 *   mtype      := 1 CALL | 2 REPLY | 3 EXCEPTION | 4 ONEWAY
 *   struct     := { i8(ttype) i16(field id) value }* i8(0 = STOP)
 *   value      := BOOL i8(0|1) | BYTE i8 | I16 i16 | I32 i32 | I64 i64 | DOUBLE f64
 *               | STRING i32(len) bytes      (binary and UTF-8 text alike)
 *               | STRUCT struct
 *               | MAP  i8(ktype) i8(vtype) i32(n) { key value }*n
 *               | LIST i8(etype) i32(n) value*n | SET (as LIST)
 *   ttype      := 2 BOOL 3 BYTE 4 DOUBLE 6 I16 8 I32 10 I64 11 STRING 12 STRUCT 13 MAP 14 SET 15 LIST
 *
 * A REPLY's struct is the method's result: field 0 is the return value, fields
 * 1.. are the declared exceptions (each a struct whose field 1 is `message`).
 * An EXCEPTION message carries TApplicationException {1: message, 2: i32 type}.
 *
 * Encoding takes typed values built with the helpers below (`T.str(..)`,
 * `T.struct([[1, v], ...])`); decoding is generic: a struct decodes to a
 * `Map<fieldId, value>`, lists to arrays, maps to `Map`, strings to JS strings.
 */
import { Socket, connect } from 'node:net';
import { SpotError } from '../errors.ts';

export const TType = {
  STOP: 0,
  BOOL: 2,
  BYTE: 3,
  DOUBLE: 4,
  I16: 6,
  I32: 8,
  I64: 10,
  STRING: 11,
  STRUCT: 12,
  MAP: 13,
  SET: 14,
  LIST: 15,
} as const;
export type TTypeId = (typeof TType)[keyof typeof TType];

const VERSION_1 = 0x80010000;
const MT_CALL = 1;
const MT_REPLY = 2;
const MT_EXCEPTION = 3;

/** A value tagged with its Thrift type, ready to encode. */
export type TValue =
  | { t: 2; v: boolean }
  | { t: 3 | 6 | 8; v: number }
  | { t: 10; v: bigint }
  | { t: 4; v: number }
  | { t: 11; v: string }
  | { t: 12; v: TFields }
  | { t: 13; kt: TTypeId; vt: TTypeId; v: Array<[TValue, TValue]> }
  | { t: 15 | 14; et: TTypeId; v: TValue[] };
/** Struct fields; `undefined` values (unset optionals) are skipped. */
export type TFields = ReadonlyArray<readonly [number, TValue | undefined]>;

export const T = {
  bool: (v: boolean): TValue => ({ t: 2, v }),
  i16: (v: number): TValue => ({ t: 6, v }),
  i32: (v: number): TValue => ({ t: 8, v }),
  i64: (v: bigint): TValue => ({ t: 10, v }),
  str: (v: string): TValue => ({ t: 11, v }),
  struct: (fields: TFields): TValue => ({ t: 12, v: fields }),
  list: (et: TTypeId, v: TValue[]): TValue => ({ t: 15, et, v }),
  strList: (v: readonly string[]): TValue => ({ t: 15, et: 11, v: v.map((s) => T.str(s)) }),
  strMap: (m: Readonly<Record<string, string>>): TValue => ({
    t: 13,
    kt: 11,
    vt: 11,
    v: Object.entries(m).map(([k, v]) => [T.str(k), T.str(v)] as [TValue, TValue]),
  }),
};

/** Decoded struct: field id -> value. */
export type TStruct = Map<number, unknown>;

class Writer {
  private chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(4096);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = Buffer.allocUnsafe(Math.max(4096, n));
    this.pos = 0;
  }
  i8(v: number): void {
    this.room(1);
    this.cur.writeInt8(v, this.pos);
    this.pos += 1;
  }
  i16(v: number): void {
    this.room(2);
    this.cur.writeInt16BE(v, this.pos);
    this.pos += 2;
  }
  i32(v: number): void {
    this.room(4);
    this.cur.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
  }
  i64(v: bigint): void {
    this.room(8);
    this.cur.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }
  f64(v: number): void {
    this.room(8);
    this.cur.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }
  bytes(b: Buffer): void {
    this.i32(b.length);
    this.room(b.length);
    b.copy(this.cur, this.pos);
    this.pos += b.length;
  }
  value(x: TValue): void {
    switch (x.t) {
      case 2:
        return this.i8(x.v ? 1 : 0);
      case 3:
        return this.i8(x.v);
      case 6:
        return this.i16(x.v);
      case 8:
        return this.i32(x.v);
      case 10:
        return this.i64(x.v);
      case 4:
        return this.f64(x.v);
      case 11:
        return this.bytes(Buffer.from(x.v, 'utf8'));
      case 12:
        return this.fields(x.v);
      case 13:
        this.i8(x.kt);
        this.i8(x.vt);
        this.i32(x.v.length);
        for (const [k, v] of x.v) {
          this.value(k);
          this.value(v);
        }
        return;
      case 14:
      case 15:
        this.i8(x.et);
        this.i32(x.v.length);
        for (const e of x.v) this.value(e);
        return;
    }
  }
  fields(fields: TFields): void {
    for (const [id, v] of fields) {
      if (v === undefined) continue;
      this.i8(v.t);
      this.i16(id);
      this.value(v);
    }
    this.i8(TType.STOP);
  }
  done(): Buffer {
    this.chunks.push(this.cur.subarray(0, this.pos));
    return Buffer.concat(this.chunks);
  }
}

/** Thrown by the reader when the buffer ends before the message does. */
class NeedMore extends Error {}

class Reader {
  pos = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new NeedMore();
  }
  i8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  i16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  str(): string {
    const n = this.i32();
    if (n < 0) throw new SpotError('THRIFT_PROTOCOL', `negative string length ${n}`);
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  value(t: number): unknown {
    switch (t) {
      case TType.BOOL:
        return this.i8() !== 0;
      case TType.BYTE:
        return this.i8();
      case TType.I16:
        return this.i16();
      case TType.I32:
        return this.i32();
      case TType.I64:
        return this.i64();
      case TType.DOUBLE:
        return this.f64();
      case TType.STRING:
        return this.str();
      case TType.STRUCT:
        return this.struct();
      case TType.MAP: {
        const kt = this.i8();
        const vt = this.i8();
        const n = this.i32();
        const m = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) {
          const k = this.value(kt);
          m.set(k, this.value(vt));
        }
        return m;
      }
      case TType.SET:
      case TType.LIST: {
        const et = this.i8();
        const n = this.i32();
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(et));
        return out;
      }
      default:
        throw new SpotError('THRIFT_PROTOCOL', `unknown thrift type ${t}`);
    }
  }
  struct(): TStruct {
    const s: TStruct = new Map();
    for (;;) {
      const t = this.i8();
      if (t === TType.STOP) return s;
      const id = this.i16();
      s.set(id, this.value(t));
    }
  }
}

export function encodeCall(name: string, seqid: number, args: TFields): Buffer {
  const w = new Writer();
  w.i32(VERSION_1 | MT_CALL);
  w.bytes(Buffer.from(name, 'utf8'));
  w.i32(seqid);
  w.fields(args);
  return w.done();
}

export interface DecodedReply {
  name: string;
  seqid: number;
  type: number;
  body: TStruct;
}

/** Decodes one message from the start of `buf`; undefined when more bytes are needed. */
export function decodeMessage(buf: Buffer): { msg: DecodedReply; used: number } | undefined {
  const r = new Reader(buf);
  try {
    const head = r.i32();
    if ((head & 0xffff0000) !== (VERSION_1 | 0)) {
      throw new SpotError('THRIFT_PROTOCOL', `bad thrift message header 0x${(head >>> 0).toString(16)} (not TBinaryProtocol strict)`);
    }
    const type = head & 0xff;
    const name = r.str();
    const seqid = r.i32();
    const body = r.struct();
    return { msg: { name, seqid, type, body }, used: r.pos };
  } catch (err) {
    if (err instanceof NeedMore) return undefined;
    throw err;
  }
}

export interface ThriftClientOptions {
  host: string;
  port: number;
  /** Connect and per-call timeout, default 30 s. */
  timeoutMs?: number;
}

/**
 * One TCP connection, calls strictly one at a time (the metastore's
 * TThreadPoolServer serves a connection sequentially anyway).
 */
export class ThriftConnection {
  private socket: Socket | undefined;
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly opts: ThriftClientOptions;

  constructor(opts: ThriftClientOptions) {
    this.opts = opts;
  }

  private async open(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const { host, port } = this.opts;
    const timeout = this.opts.timeoutMs ?? 30_000;
    this.socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new SpotError('METASTORE_UNAVAILABLE', `connect to ${host}:${port} timed out`));
      }, timeout);
      s.once('connect', () => {
        clearTimeout(timer);
        s.setNoDelay(true);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new SpotError('METASTORE_UNAVAILABLE', `cannot connect to metastore ${host}:${port}: ${err.message}`, { cause: err }));
      });
    });
    return this.socket;
  }

  /** Calls `name` and returns the REPLY's result struct (field 0 = return, 1.. = exceptions). */
  call(name: string, args: TFields): Promise<TStruct> {
    const p = this.chain.then(() => this.callNow(name, args));
    this.chain = p.catch(() => {});
    return p;
  }

  private async callNow(name: string, args: TFields): Promise<TStruct> {
    const socket = await this.open();
    const seqid = (this.seq = (this.seq + 1) & 0x7fffffff);
    const timeout = this.opts.timeoutMs ?? 30_000;
    const msg = await new Promise<DecodedReply>((resolve, reject) => {
      let buf: Buffer = Buffer.alloc(0);
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
      };
      const fail = (err: SpotError): void => {
        cleanup();
        socket.destroy();
        this.socket = undefined;
        reject(err);
      };
      const onData = (chunk: Buffer): void => {
        buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
        let decoded;
        try {
          decoded = decodeMessage(buf);
        } catch (err) {
          fail(err instanceof SpotError ? err : new SpotError('THRIFT_PROTOCOL', String(err), { cause: err }));
          return;
        }
        if (!decoded) return;
        cleanup();
        resolve(decoded.msg);
      };
      const onError = (err: Error): void =>
        fail(new SpotError('METASTORE_UNAVAILABLE', `metastore connection error during ${name}: ${err.message}`, { cause: err }));
      const onClose = (): void =>
        fail(new SpotError('METASTORE_UNAVAILABLE', `metastore closed the connection during ${name}`));
      const timer = setTimeout(
        () => fail(new SpotError('METASTORE_TIMEOUT', `metastore call ${name} timed out after ${timeout} ms`)),
        timeout,
      );
      socket.on('data', onData);
      socket.once('error', onError);
      socket.once('close', onClose);
      socket.write(encodeCall(name, seqid, args));
    });
    if (msg.seqid !== seqid || msg.name !== name) {
      this.close();
      throw new SpotError('METASTORE_UNAVAILABLE', `connection out of step: out-of-order reply ${msg.name}#${msg.seqid} to ${name}#${seqid}`);
    }
    if (msg.type === MT_EXCEPTION) {
      const text = String(msg.body.get(1) ?? 'unknown');
      throw new SpotError('METASTORE_APPLICATION_ERROR', `metastore rejected ${name}: ${text}`);
    }
    if (msg.type !== MT_REPLY) throw new SpotError('THRIFT_PROTOCOL', `unexpected message type ${msg.type} for ${name}`);
    return msg.body;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }
}
