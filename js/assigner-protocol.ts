/**
 * kafkajs's `AssignerProtocol`: the consumer protocol's MemberMetadata and MemberAssignment
 * encodings (Kafka's wire format), for code that builds or reads group assignments itself.
 */

class Writer {
  private parts: Buffer[] = []
  int16(v: number) { const b = Buffer.alloc(2); b.writeInt16BE(v); this.parts.push(b); return this }
  int32(v: number) { const b = Buffer.alloc(4); b.writeInt32BE(v); this.parts.push(b); return this }
  string(s: string) { const b = Buffer.from(s); this.int16(b.length); this.parts.push(b); return this }
  bytes(b: Buffer | null | undefined) {
    if (!b) return this.int32(-1)
    this.int32(b.length); this.parts.push(b); return this
  }
  array<T>(items: T[], each: (w: Writer, item: T) => void) { this.int32(items.length); for (const i of items) each(this, i); return this }
  buffer() { return Buffer.concat(this.parts) }
}

class Reader {
  private pos = 0
  constructor(private readonly buf: Buffer) {}
  int16() { const v = this.buf.readInt16BE(this.pos); this.pos += 2; return v }
  int32() { const v = this.buf.readInt32BE(this.pos); this.pos += 4; return v }
  string() { const n = this.int16(); const s = this.buf.toString('utf8', this.pos, this.pos + n); this.pos += n; return s }
  bytes() { const n = this.int32(); if (n < 0) return Buffer.alloc(0); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return Buffer.from(b) }
  array<T>(each: (r: Reader) => T): T[] { const n = this.int32(); const out: T[] = []; for (let i = 0; i < n; i++) out.push(each(this)); return out }
  more() { return this.pos < this.buf.length }
}

export interface MemberMetadata { version: number; topics: string[]; userData?: Buffer }
export interface MemberAssignment { version: number; assignment: Record<string, number[]>; userData?: Buffer }

export const AssignerProtocol = {
  MemberMetadata: {
    encode({ version, topics, userData = Buffer.alloc(0) }: MemberMetadata): Buffer {
      return new Writer().int16(version).array(topics, (w, t) => w.string(t)).bytes(userData).buffer()
    },
    decode(buffer: Buffer): MemberMetadata {
      const r = new Reader(buffer)
      return { version: r.int16(), topics: r.array((x) => x.string()), userData: r.more() ? r.bytes() : Buffer.alloc(0) }
    },
  },
  MemberAssignment: {
    encode({ version, assignment, userData = Buffer.alloc(0) }: MemberAssignment): Buffer {
      return new Writer().int16(version)
        .array(Object.keys(assignment), (w, topic) => { w.string(topic); w.array(assignment[topic], (x, p) => x.int32(p)) })
        .bytes(userData).buffer()
    },
    decode(buffer: Buffer | null): MemberAssignment | null {
      if (!buffer || buffer.length === 0) return null
      const r = new Reader(buffer)
      const version = r.int16()
      const assignment: Record<string, number[]> = {}
      for (const [topic, partitions] of r.array((x) => [x.string(), x.array((y) => y.int32())] as const)) assignment[topic] = partitions
      return { version, assignment, userData: r.more() ? r.bytes() : Buffer.alloc(0) }
    },
  },
}
