import { expect, test } from 'bun:test'
import { mergeExpositions } from '../../src/metrics/instance-scrape'

const worker = (requests: number, startedAt: number) => `# HELP concert_http_requests_total Requests answered
# TYPE concert_http_requests_total counter
concert_http_requests_total{method="GET",route="/v1/concerts"} ${requests}
concert_http_requests_total{method="POST",route="/v1/payments"} 1
# HELP process_start_time_seconds Start time of the process
# TYPE process_start_time_seconds gauge
process_start_time_seconds ${startedAt}
# HELP concert_queue_waiting Waiting
# TYPE concert_queue_waiting gauge
concert_queue_waiting{} 7
`

test('workers\' expositions merge into one: each family once, its HELP and TYPE first, then every worker\'s samples labelled with the worker', () => {
  const merged = mergeExpositions(new Map([['0', worker(3, 100)], ['1', worker(5, 101)]]))
  expect(merged).toBe(`# HELP concert_http_requests_total Requests answered
# TYPE concert_http_requests_total counter
concert_http_requests_total{worker="0",method="GET",route="/v1/concerts"} 3
concert_http_requests_total{worker="0",method="POST",route="/v1/payments"} 1
concert_http_requests_total{worker="1",method="GET",route="/v1/concerts"} 5
concert_http_requests_total{worker="1",method="POST",route="/v1/payments"} 1
# HELP process_start_time_seconds Start time of the process
# TYPE process_start_time_seconds gauge
process_start_time_seconds{worker="0"} 100
process_start_time_seconds{worker="1"} 101
# HELP concert_queue_waiting Waiting
# TYPE concert_queue_waiting gauge
concert_queue_waiting{worker="0"} 7
concert_queue_waiting{worker="1"} 7
`)
})

test('a family only one worker has (a series not counted yet elsewhere) keeps its place and its header', () => {
  const merged = mergeExpositions(new Map([['0', '# TYPE a counter\na 1\n'], ['1', '# TYPE b gauge\nb 2\n# TYPE a counter\na 3\n']]))
  expect(merged).toBe('# TYPE a counter\na{worker="0"} 1\na{worker="1"} 3\n# TYPE b gauge\nb{worker="1"} 2\n')
})

test('no worker answered: an empty exposition', () => {
  expect(mergeExpositions(new Map())).toBe('')
})
