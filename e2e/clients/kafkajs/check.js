// kafkajs checks of make e2e (scripts/e2e.sh), with the same judgement as the
// Python clients' (e2e/clients/roundtrip.py, group_consumers.py):
//
//   node check.js roundtrip BROKER TOPIC  - 1000 keyed, gzip-compressed records
//     with headers (one of 256 KiB) from an idempotent producer through a
//     3-partition topic; a group consumer must read every one back exactly
//     once, intact, at the offset the producer was told, offsets in each
//     partition running 0, 1, 2, ... in produce order.
//   node check.js group BROKER TOPIC      - two members of one group share a
//     4-partition topic two partitions each and read 2000 records exactly
//     once, each only from its own partitions; their commits must equal the
//     end offsets, and a new member must read only the 100 produced after.
//
// It prints one PASS or FAIL line and exits non-zero on failure. Every wait
// is bounded.
'use strict'

const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

const ROUNDTRIP_RECORDS = 1000
const ROUNDTRIP_PARTITIONS = 3
const BIG_RECORD_SEQ = 500
const BIG_RECORD_BYTES = 256 * 1024
const GROUP_PARTITIONS = 4
const GROUP_RECORDS = 2000
const LATE_RECORDS = 100
const WAIT_MS = 60000
const PROBLEMS_SHOWN = 10

function client(broker) {
  return new Kafka({
    clientId: 'chronik-e2e-kafkajs',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 10000,
    requestTimeout: 30000,
    retry: { retries: 8 },
  })
}

async function waitUntil(what, cond, limitMs = WAIT_MS) {
  const deadline = Date.now() + limitMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs / 1000}s waiting until ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function createTopic(kafka, topic, partitions) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: 30000,
    })
    if (!created) throw new Error(`topic ${topic} already existed`)
  } finally {
    await admin.disconnect()
  }
}

function recordsToSend(count, runId) {
  const filler = '0123456789abcdef'.repeat(128)
  const out = []
  for (let seq = 0; seq < count; seq++) {
    const pad = seq === BIG_RECORD_SEQ ? 'x'.repeat(BIG_RECORD_BYTES) : filler.slice(0, (seq * 37) % 2000)
    const key = `key-${String(seq).padStart(4, '0')}`
    out.push({
      seq,
      partition: seq % ROUNDTRIP_PARTITIONS,
      key,
      value: `value-${String(seq).padStart(4, '0')}-${pad}`,
      headers: { seq: String(seq), run: runId, dup: ['first', 'second'], empty: '' },
    })
  }
  return out
}

// headerProblems compares consumed headers (kafkajs gives a Buffer, or an
// array of them for a repeated name) with what was sent.
function headerProblems(seq, got, sent) {
  const norm = (v) => (Array.isArray(v) ? v.map(String) : [String(v)])
  const names = new Set([...Object.keys(got || {}), ...Object.keys(sent)])
  const found = []
  for (const name of names) {
    const g = got && name in got ? norm(got[name]) : null
    const s = norm(sent[name])
    if (g === null || g.length !== s.length || g.some((v, i) => v !== s[i])) {
      found.push(`record ${seq}: header ${name} = ${JSON.stringify(g)}, want ${JSON.stringify(s)}`)
    }
  }
  return found
}

async function roundtrip(broker, topic) {
  const kafka = client(broker)
  await createTopic(kafka, topic, ROUNDTRIP_PARTITIONS)
  const sent = recordsToSend(ROUNDTRIP_RECORDS, topic)

  // One send per partition, in order: the answer's base offset plus the
  // record's place in the send is the offset the producer was told.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const producedAt = new Map()
  try {
    for (let p = 0; p < ROUNDTRIP_PARTITIONS; p++) {
      const batch = sent.filter((r) => r.partition === p)
      const res = await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: batch.map((r) => ({ partition: p, key: r.key, value: r.value, headers: r.headers })),
      })
      if (res.length !== 1 || res[0].partition !== p || res[0].errorCode !== 0) {
        throw new Error(`produce to partition ${p} answered ${JSON.stringify(res)}`)
      }
      const base = Number(res[0].baseOffset)
      batch.forEach((r, i) => producedAt.set(r.seq, `${p}/${base + i}`))
    }
  } finally {
    await producer.disconnect()
  }

  const received = []
  const consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 500 })
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({ partition, offset: Number(message.offset), key: message.key, value: message.value, headers: message.headers })
      },
    })
    await waitUntil(`${ROUNDTRIP_RECORDS} records are read`, () => received.length >= ROUNDTRIP_RECORDS)
    await new Promise((r) => setTimeout(r, 1000)) // anything extra would arrive now
  } finally {
    await consumer.disconnect()
  }

  const problems = []
  if (received.length !== sent.length) problems.push(`received ${received.length} records, want ${sent.length}`)
  const bySeq = new Map()
  const lastOffset = new Map()
  for (const r of received) {
    const key = r.key ? r.key.toString() : null
    const seq = key && key.startsWith('key-') ? Number(key.slice(4)) : NaN
    const want = sent[seq]
    if (!want) {
      problems.push(`partition ${r.partition} offset ${r.offset}: unexpected key ${key}`)
      continue
    }
    if (bySeq.has(seq)) problems.push(`record ${seq} read twice (${bySeq.get(seq)} and ${r.partition}/${r.offset})`)
    bySeq.set(seq, `${r.partition}/${r.offset}`)
    if (producedAt.get(seq) !== `${r.partition}/${r.offset}`) {
      problems.push(`record ${seq} read at ${r.partition}/${r.offset}, produced at ${producedAt.get(seq)}`)
    }
    if (!r.value || r.value.toString() !== want.value) problems.push(`record ${seq}: value differs (${r.value ? r.value.length : 0} bytes)`)
    problems.push(...headerProblems(seq, r.headers, want.headers))
    const prev = lastOffset.has(r.partition) ? lastOffset.get(r.partition) : -1
    if (r.offset !== prev + 1) problems.push(`partition ${r.partition}: offset ${r.offset} follows ${prev}`)
    lastOffset.set(r.partition, r.offset)
  }
  return problems
}

async function group(broker, topic) {
  const kafka = client(broker)
  await createTopic(kafka, topic, GROUP_PARTITIONS)
  const groupId = `${topic}-group`
  const value = (i) => `v-${String(i).padStart(5, '0')}`

  function member(name) {
    const m = { name, assigned: [], everAssigned: new Set(), records: [] }
    m.consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, sessionTimeout: 10000, heartbeatInterval: 1000 })
    m.consumer.on(m.consumer.events.GROUP_JOIN, (e) => {
      m.assigned = (e.payload.memberAssignment[topic] || []).slice().sort()
      m.assigned.forEach((p) => m.everAssigned.add(p))
    })
    m.start = async (fromBeginning) => {
      await m.consumer.connect()
      await m.consumer.subscribe({ topic, fromBeginning })
      await m.consumer.run({
        eachMessage: async ({ partition, message }) => {
          m.records.push({ partition, offset: Number(message.offset), value: message.value.toString() })
        },
      })
    }
    return m
  }

  const produce = async (from, n) => {
    const producer = kafka.producer()
    await producer.connect()
    try {
      const messages = []
      for (let i = from; i < from + n; i++) messages.push({ key: `k-${i}`, value: value(i) })
      await producer.send({ topic, acks: -1, messages })
    } finally {
      await producer.disconnect()
    }
  }

  const problems = []
  const a = member('a')
  const b = member('b')
  await a.start(true)
  await b.start(true)
  try {
    await waitUntil('each member holds two partitions', () => a.assigned.length === 2 && b.assigned.length === 2 &&
      new Set([...a.assigned, ...b.assigned]).size === GROUP_PARTITIONS)
    a.everAssigned = new Set(a.assigned)
    b.everAssigned = new Set(b.assigned)
    await produce(0, GROUP_RECORDS)
    await waitUntil(`${GROUP_RECORDS} records are read`, () => a.records.length + b.records.length >= GROUP_RECORDS)
    await new Promise((r) => setTimeout(r, 1000))
  } finally {
    // Disconnecting commits what each member read, then leaves the group.
    await Promise.all([a.consumer.disconnect(), b.consumer.disconnect()])
  }
  const seen = new Map()
  for (const m of [a, b]) {
    if (m.records.length === 0) problems.push(`member ${m.name} read nothing`)
    for (const r of m.records) {
      if (!m.everAssigned.has(r.partition)) problems.push(`member ${m.name} read partition ${r.partition}, assigned ${[...m.everAssigned]}`)
      if (seen.has(r.value)) problems.push(`${r.value} read twice`)
      seen.set(r.value, m.name)
    }
  }
  for (let i = 0; i < GROUP_RECORDS; i++) if (!seen.has(value(i))) problems.push(`${value(i)} never read`)

  const admin = kafka.admin()
  await admin.connect()
  try {
    const ends = await admin.fetchTopicOffsets(topic)
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const total = ends.reduce((sum, e) => sum + Number(e.offset), 0)
    if (ends.length !== GROUP_PARTITIONS || total !== GROUP_RECORDS) {
      problems.push(`end offsets ${JSON.stringify(ends)}: want ${GROUP_PARTITIONS} partitions holding ${GROUP_RECORDS} records`)
    }
    for (const end of ends) {
      const c = committed.partitions.find((p) => p.partition === end.partition)
      if (!c || c.offset !== end.offset) problems.push(`partition ${end.partition}: committed ${c ? c.offset : 'nothing'}, end ${end.offset}`)
    }
  } finally {
    await admin.disconnect()
  }

  await produce(GROUP_RECORDS, LATE_RECORDS)
  const late = member('late')
  await late.start(true) // committed offsets win over fromBeginning
  try {
    await waitUntil(`${LATE_RECORDS} late records are read`, () => late.records.length >= LATE_RECORDS)
    await new Promise((r) => setTimeout(r, 1000))
  } finally {
    await late.consumer.disconnect()
  }
  const lateValues = late.records.map((r) => r.value).sort()
  const wantLate = Array.from({ length: LATE_RECORDS }, (_, i) => value(GROUP_RECORDS + i))
  if (lateValues.length !== LATE_RECORDS || lateValues.some((v, i) => v !== wantLate[i])) {
    problems.push(`the new member read ${lateValues.length} records (${lateValues.slice(0, 3)}...), want the ${LATE_RECORDS} produced after the commits`)
  }
  return { problems, a: a.records.length, b: b.records.length }
}

async function main() {
  const [mode, broker, topic] = process.argv.slice(2)
  if (!['roundtrip', 'group'].includes(mode) || !broker || !topic) {
    console.log('FAIL kafkajs: usage: node check.js roundtrip|group BROKER TOPIC')
    process.exit(2)
  }
  const name = mode === 'roundtrip' ? 'kafkajs gzip idempotent' : 'kafkajs group'
  try {
    let problems
    let pass
    if (mode === 'roundtrip') {
      problems = await roundtrip(broker, topic)
      pass = `${ROUNDTRIP_RECORDS} records over ${ROUNDTRIP_PARTITIONS} partitions round-tripped exactly`
    } else {
      const res = await group(broker, topic)
      problems = res.problems
      pass = `two members shared ${GROUP_RECORDS} records (${res.a} + ${res.b}) over ${GROUP_PARTITIONS} partitions, offsets committed and resumed`
    }
    if (problems.length > 0) {
      console.log(`FAIL ${name}: ${problems.length} problems`)
      problems.slice(0, PROBLEMS_SHOWN).forEach((p) => console.log(`  ${p}`))
      process.exit(1)
    }
    console.log(`PASS ${name}: ${pass}`)
    process.exit(0)
  } catch (err) {
    console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`)
    process.exit(1)
  }
}

main()
