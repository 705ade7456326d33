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
//   node check.js txn BROKER TOPIC        - Kafka transactions: a transactional
//     producer (transactionalId, idempotent) writes three transactions of 300
//     records over a 3-partition topic: committed, aborted (every send
//     acknowledged first, offsets for a group sent too), committed (with
//     sendOffsets). A readUncommitted: false consumer must read exactly the
//     600 committed records, once each, at the offsets the sends were told,
//     and none aborted; a readUncommitted: true one must read all 900 (the
//     aborted records were there to skip). The group's committed offsets must
//     be none right after the abort and those of the third transaction at the
//     end.
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
const TXN_RECORDS = 300
const TXN_PARTITIONS = 3
const ABORTED_GROUP_OFFSET = 3
const PROBLEMS_SHOWN = 10

// KAFKAJS_LOG_LEVEL=debug (kafkajs's own variable) turns its log on.
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

// Three transactions, the second aborted; see the top of the file.
async function txn(broker, topic) {
  const kafka = client(broker)
  await createTopic(kafka, topic, TXN_PARTITIONS)
  const groupId = `${topic}-group`
  const runId = `${Date.now()}-${process.pid}`
  const sent = new Map() // key -> { txn, value }
  const producedAt = new Map() // key -> 'partition/offset' the send was told
  const problems = []

  const admin = kafka.admin()
  await admin.connect()
  const committedOffsets = async () => {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] })
    const out = {}
    for (const p of res.partitions) out[p.partition] = Number(p.offset)
    return out
  }
  const groupOffsets = (offset) => ({
    consumerGroupId: groupId,
    topics: [{ topic, partitions: Array.from({ length: TXN_PARTITIONS }, (_, p) => ({ partition: p, offset: String(offset(p)) })) }],
  })
  // The third transaction sends 10 + partition, never ABORTED_GROUP_OFFSET.
  const wantCommitted = {}
  for (let p = 0; p < TXN_PARTITIONS; p++) wantCommitted[p] = 10 + p

  try {
    const producer = kafka.producer({ transactionalId: `${topic}-txn`, idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    try {
      for (const n of [1, 2, 3]) {
        const t = await producer.transaction()
        // One send per partition: the answer's base offset plus the record's
        // place in the send is its offset.
        for (let p = 0; p < TXN_PARTITIONS; p++) {
          const batch = []
          for (let seq = p; seq < TXN_RECORDS; seq += TXN_PARTITIONS) {
            const key = `t${n}-${String(seq).padStart(4, '0')}`
            const value = `${key}-${runId}-${'v'.repeat((seq * 37) % 500)}`
            sent.set(key, { txn: n, value })
            batch.push({ partition: p, key, value })
          }
          const res = await t.send({ topic, acks: -1, messages: batch })
          if (res.length !== 1 || res[0].partition !== p || res[0].errorCode !== 0) {
            throw new Error(`transaction ${n}: send to partition ${p} answered ${JSON.stringify(res)}`)
          }
          const base = Number(res[0].baseOffset)
          batch.forEach((m, i) => producedAt.set(m.key, `${p}/${base + i}`))
        }
        if (n === 1) {
          await t.commit()
        } else if (n === 2) {
          await t.sendOffsets(groupOffsets(() => ABORTED_GROUP_OFFSET))
          await t.abort()
          const after = await committedOffsets()
          if (Object.values(after).some((o) => o !== -1)) {
            problems.push(`right after the abort, committed offsets of ${groupId} are ${JSON.stringify(after)}, want none`)
          }
        } else {
          await t.sendOffsets(groupOffsets((p) => wantCommitted[p]))
          await t.commit()
        }
      }
    } finally {
      await producer.disconnect()
    }

    const read = async (readUncommitted) => {
      const label = readUncommitted ? 'readUncommitted' : 'read committed'
      const wanted = new Set([...sent].filter(([, s]) => readUncommitted || s.txn !== 2).map(([k]) => k))
      const received = []
      const consumer = kafka.consumer({ groupId: `${topic}-reader-${readUncommitted}`, readUncommitted, maxWaitTimeInMs: 500 })
      await consumer.connect()
      try {
        await consumer.subscribe({ topic, fromBeginning: true })
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            received.push({ partition, offset: Number(message.offset), key: message.key, value: message.value })
          },
        })
        // Every partition holds records of the third transaction after those
        // of the aborted one, so once all wanted records are in, the aborted
        // ones were passed.
        try {
          await waitUntil(`the ${label} consumer reads ${wanted.size} records`, () => received.length >= wanted.size)
        } catch (err) {
          problems.push(`${err.message}: it read ${received.length}`)
        }
        await new Promise((r) => setTimeout(r, 1500)) // anything extra would arrive now
      } finally {
        await consumer.disconnect()
      }

      const seen = new Map()
      const seenAt = new Set()
      const lastOffset = new Map()
      for (const r of received) {
        const where = `${r.partition}/${r.offset}`
        if (seenAt.has(where)) {
          problems.push(`${label}: ${where} read twice`)
          continue
        }
        seenAt.add(where)
        const key = r.key ? r.key.toString() : null
        const s = sent.get(key)
        if (!s) {
          problems.push(`${label}: ${where}: unexpected key ${key}`)
          continue
        }
        if (!wanted.has(key)) problems.push(`${label}: ${where}: ${key} of aborted transaction ${s.txn} read`)
        if (seen.has(key)) {
          problems.push(`${label}: ${key} read twice, at ${seen.get(key)} and ${where}`)
          continue
        }
        seen.set(key, where)
        if (!r.value || r.value.toString() !== s.value) problems.push(`${label}: ${key}: value differs from the one sent`)
        if (producedAt.get(key) !== where) problems.push(`${label}: ${key} read at ${where}, the send was told ${producedAt.get(key)}`)
        if (lastOffset.has(r.partition) && r.offset <= lastOffset.get(r.partition)) {
          problems.push(`${label}: partition ${r.partition}: offset ${r.offset} read after ${lastOffset.get(r.partition)}`)
        }
        lastOffset.set(r.partition, r.offset)
      }
      const missing = [...wanted].filter((k) => !seen.has(k)).sort()
      if (missing.length > 0) problems.push(`${label}: ${missing.length} records never read, first ${missing.slice(0, 5)}`)
    }
    await Promise.all([read(false), read(true)])

    const got = await committedOffsets()
    if (JSON.stringify(got) !== JSON.stringify(wantCommitted)) {
      problems.push(`committed offsets of ${groupId} are ${JSON.stringify(got)}, want ${JSON.stringify(wantCommitted)} as sent in the committed transaction`)
    }
  } finally {
    await admin.disconnect()
  }
  return problems
}

async function main() {
  const [mode, broker, topic] = process.argv.slice(2)
  const names = { roundtrip: 'kafkajs gzip idempotent', group: 'kafkajs group', txn: 'kafkajs transactions' }
  if (!(mode in names) || !broker || !topic) {
    console.log('FAIL kafkajs: usage: node check.js roundtrip|group|txn BROKER TOPIC')
    process.exit(2)
  }
  const name = names[mode]
  try {
    let problems
    let pass
    if (mode === 'roundtrip') {
      problems = await roundtrip(broker, topic)
      pass = `${ROUNDTRIP_RECORDS} records over ${ROUNDTRIP_PARTITIONS} partitions round-tripped exactly`
    } else if (mode === 'txn') {
      problems = await txn(broker, topic)
      pass = `3 transactions of ${TXN_RECORDS} records over ${TXN_PARTITIONS} partitions: read committed read the ${2 * TXN_RECORDS} committed exactly, none aborted; group offsets committed by sendOffsets`
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
