// Replays calls through Segment's own Node library: node segment_send.mjs '<json>'
// The JSON is {"modules", "host", "writeKey", "calls": [["identify", {...}], ["track", {...}], ...]};
// "modules" is the node_modules folder holding @segment/analytics-node (tests/vendor_tools.py).
// Prints {"statuses": [...], "errors": [...]} once every batch has been delivered.
import { createRequire } from 'node:module'
import path from 'node:path'

const { modules, host, writeKey, calls } = JSON.parse(process.argv[2])
const require = createRequire(path.join(modules, 'package.json'))
const { Analytics } = require('@segment/analytics-node')

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
