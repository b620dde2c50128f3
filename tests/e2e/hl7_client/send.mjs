// send.mjs PORT CA CERT KEY MESSAGE_FILE: sends the HL7 message in MESSAGE_FILE to 127.0.0.1:PORT
// over MLLP inside TLS with node-hl7-client (trusting CA, presenting CERT/KEY), and prints the
// reply's MSA-1 and MSA-2 as "AA N-1", or "no reply" when none came within 10 s.
import { readFileSync } from 'node:fs'
import { Client, Message } from 'node-hl7-client'

const [port, ca, cert, key, file] = process.argv.slice(2)
const client = new Client({
  host: '127.0.0.1',
  maxConnectionAttempts: 1,
  tls: { ca: readFileSync(ca), cert: readFileSync(cert), key: readFileSync(key) }
})
const done = (line, code) => {
  console.log(line)
  client.closeAll()
  process.exit(code)
}
const timer = setTimeout(() => done('no reply', 1), 10000)
const connection = client.createConnection({ port: Number(port) }, async (res) => {
  clearTimeout(timer)
  const ack = res.getMessage()
  done(`${ack.get('MSA.1').toString()} ${ack.get('MSA.2').toString()}`, 0)
})
connection.on('client.error', (err) => done(`error ${err && err.message}`, 1))
await connection.sendMessage(new Message({ text: readFileSync(file, 'utf8') }))
