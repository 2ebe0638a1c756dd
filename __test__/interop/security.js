// Helpers of security.test.js: a throwaway CA and server certificate made with the openssl CLI at
// test time, a TLS-terminating proxy in front of tansu (tansu 0.6.0 cannot serve TLS itself, see
// the suite's header), and what tansu's own log says it received during SASL.
const { execFileSync } = require('child_process')
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const tls = require('tls')

const openssl = (dir, args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })

/** A self-signed CA in `dir` named `name`; resolves to `{ key, pem }` file names and the PEM text. */
function makeCa(dir, name) {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=ferrokafka ${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.pem`])
  return { key: `${name}.key`, file: `${name}.pem`, pem: fs.readFileSync(path.join(dir, `${name}.pem`), 'utf8') }
}

/**
 * Makes, in a fresh temp dir, a CA, a second unrelated CA, and a server certificate for
 * `localhost` (SAN DNS:localhost, IP:127.0.0.1 and ::1) signed by the first. Returns PEM texts and
 * `remove()`. Nothing is written outside the temp dir.
 */
function makeCertificates() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrokafka-tls-'))
  const ca = makeCa(dir, 'ca')
  const otherCa = makeCa(dir, 'other-ca')
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr'])
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n')
  openssl(dir, ['x509', '-req', '-in', 'server.csr', '-CA', ca.file, '-CAkey', ca.key, '-CAcreateserial', '-days', '1',
    '-extfile', 'server.ext', '-out', 'server.pem'])
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8')
  return {
    dir,
    caPem: ca.pem,
    otherCaPem: otherCa.pem,
    serverCert: read('server.pem'),
    serverKey: read('server.key'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  }
}

/** Listens on every loopback address `localhost` may resolve to: dual-stack `::`, else 127.0.0.1. */
function listenLoopback(server) {
  const attempt = (host) => new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, host, () => {
      server.off('error', reject)
      resolve(server.address().port)
    })
  })
  return attempt('::').catch(() => attempt('127.0.0.1'))
}

/**
 * A TLS server (Node's OpenSSL, the given key and certificate) that forwards each connection's
 * plaintext to `127.0.0.1:<targetPort>`. Listens at once so tansu can advertise its port; the
 * target is set later with `forwardTo(port)`. Counts completed handshakes in `handshakes`.
 * `close()` ends every open connection and the listener.
 */
async function startTlsProxy({ key, cert }) {
  let targetPort = null
  const sockets = new Set()
  const proxy = { handshakes: 0, port: 0, forwardTo: (port) => { targetPort = port } }
  const server = tls.createServer({ key, cert }, (clear) => {
    proxy.handshakes++
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort })
    for (const s of [clear, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      // A broken side ends the other; the error itself is the client's or tansu's business.
      s.on('error', () => { clear.destroy(); upstream.destroy() })
    }
    clear.pipe(upstream).pipe(clear)
  })
  // A client that rejects the certificate aborts the handshake: not an error of the proxy.
  server.on('tlsClientError', () => {})
  proxy.port = await listenLoopback(server)
  proxy.close = () => new Promise((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  })
  return proxy
}

/**
 * What tansu logged about SASL (needs RUST_LOG with tansu_auth at debug): the mechanisms named in
 * SaslHandshake requests, in order, and the SCRAM auth ids its credential lookup was asked for.
 */
function saslSeenByTansu(logFile) {
  const log = fs.readFileSync(logFile, 'utf8')
  const handshakes = [...log.matchAll(/SaslHandshakeRequest \{ mechanism: "([^"]+)" \}\}: tansu_auth::handshake: \d+: new/g)].map((m) => m[1])
  const authIds = [...log.matchAll(/auth_id="([^"]*)" mechanism=(\w+)/g)].map((m) => `${m[2]}:${m[1]}`)
  return { handshakes, authIds, log }
}

module.exports = { makeCertificates, startTlsProxy, saslSeenByTansu }
