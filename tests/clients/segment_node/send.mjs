// Replays calls through Segment's own Node library: node send.mjs '<json>'
// The JSON is {"host", "writeKey", "calls": [["identify", {...}], ["track", {...}], ...]}.
// Prints {"statuses": [...], "errors": [...]} once every batch has been delivered.
import { Analytics } from '@segment/analytics-node'

const { host, writeKey, calls } = JSON.parse(process.argv[2])
const analytics = new Analytics({ writeKey, host, flushAt: 50, maxRetries: 0 })
const statuses = []
const errors = []
analytics.on('http_response', (response) => statuses.push(response.status))
analytics.on('error', (error) => errors.push(String(error.reason ?? error.code ?? error)))
for (const [method, params] of calls) {
  analytics[method](params)
}
await analytics.closeAndFlush({ timeout: 20000 })
console.log(JSON.stringify({ statuses, errors }))
