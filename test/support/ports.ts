import { readFileSync } from 'node:fs'

// Ports for the servers the tests and the bench start (app instances, PgBouncer, Caddy, Redis Cluster
// nodes). A port the system hands out for port 0 comes from its ephemeral range, the range it also draws
// the source ports of outgoing connections from: between the probe and the server's bind, a connection
// opened meanwhile can take it (seen in CI: EADDRINUSE). These come from below that range, where no
// outgoing connection lands, and each is handed out once per process.
const LOWEST = 10_000
const given = new Set<number>()

/** The lowest port of the system's ephemeral range (read once). */
const EPHEMERAL_LOW = (() => {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > LOWEST + 20_000 ? low : 32_768
  } catch {
    return 32_768
  }
})()

function portIsFree(port: number): boolean {
  try {
    Bun.listen({ hostname: '127.0.0.1', port, socket: { data() {} } }).stop(true)
    return true
  } catch {
    return false
  }
}

/** A free port below the ephemeral range; with `alsoFree`, port + alsoFree is free too (a Redis Cluster bus). */
export function freePort(alsoFree = 0): number {
  const highest = EPHEMERAL_LOW - 1 - alsoFree
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (highest - LOWEST))
    const ports = alsoFree ? [port, port + alsoFree] : [port]
    if (ports.some((p) => given.has(p))) continue
    if (!ports.every(portIsFree)) continue
    for (const p of ports) given.add(p)
    return port
  }
  throw new Error('no free port below the ephemeral range')
}
