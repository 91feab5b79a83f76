// Redis Cluster hash slots: which of the 16384 slots a key lives in (CRC16/XMODEM of the key's hash tag,
// the text between the first `{` and the next `}`, else of the whole key), and for every slot one short
// tag that lands in it. A line's keys all carry `{concertId}`; its entry in the registry of lines must sit
// in the same slot (a script may only touch one slot), so the registry is one set per slot, named with
// that slot's tag.
export const SLOTS = 16384

function crc16(bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

const encoder = new TextEncoder()

export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    // An empty tag (`{}`) does not count: the whole key is hashed, as Redis does.
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  return crc16(encoder.encode(key)) % SLOTS
}

let tags: string[] | null = null

/** A short text whose slot is `slot` (computed once for all slots, about 20 ms). */
export function slotTag(slot: number): string {
  if (!tags) {
    const found: (string | undefined)[] = new Array(SLOTS)
    let missing = SLOTS
    for (let i = 0; missing > 0; i++) {
      const tag = i.toString(36)
      const s = crc16(encoder.encode(tag)) % SLOTS
      if (found[s] === undefined) {
        found[s] = tag
        missing--
      }
    }
    tags = found as string[]
  }
  return tags[slot]!
}
