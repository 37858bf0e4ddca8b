import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Deployment from "../../src/Deployment.js"
import * as LiterLlmError from "../../src/LiterLlmError.js"
import * as LlmTest from "../../src/LlmTest.js"
import * as Router from "../../src/Router.js"
import * as Strategy from "../../src/Strategy.js"
import * as Telemetry from "../../src/Telemetry.js"
import * as Metrics from "../../src/gateway/internal/metrics.js"

const traced = (name: string, test: LlmTest.Options) =>
  Deployment.make({
    name,
    layer: Telemetry.layer({ deployment: name, pricing: { inputPerMillion: 1, outputPerMillion: 2 } }).pipe(
      Layer.provide(LlmTest.layer(test))
    )
  })

/** Every line is a comment or `name{labels} value`, as Prometheus' text format has it. */
const seriesLine =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/

describe("gateway metrics", () => {
  it.scoped("after a call: requests, errors by type, latency histogram, tokens and cost per deployment, circuits", () =>
    Effect.gen(function* () {
      const model = "metrics-model-1"
      const router = yield* Router.make({
        deployments: [
          traced("broken-1", { fail: new LiterLlmError.ServerError({ message: "boom", status: 500 }) }),
          traced("good-1", { usage: { prompt_tokens: 3, completion_tokens: 4 } })
        ],
        strategy: Strategy.fallback(),
        circuit: { failures: 1 }
      })
      yield* router.service.chat({ model, messages: [{ role: "user", content: "hi" }] })
      const text = yield* Metrics.render(router.stats)
      const at = (deployment: string) =>
        `gen_ai_operation_name="chat",gen_ai_request_model="${model}",deployment="${deployment}"`
      expect(text).toContain("# TYPE gen_ai_client_requests_total counter")
      expect(text).toContain(`gen_ai_client_requests_total{${at("good-1")}} 1`)
      expect(text).toContain(`gen_ai_client_requests_total{${at("broken-1")}} 1`)
      expect(text).toMatch(
        new RegExp(`gen_ai_client_errors_total\\{[^}]*deployment="broken-1"[^}]*error_type="ServerError"[^}]*\\} 1`)
      )
      expect(text).toContain("# TYPE gen_ai_client_operation_duration histogram")
      expect(text).toContain(`gen_ai_client_operation_duration_bucket{${at("good-1")},le="+Inf"} 1`)
      expect(text).toContain(`gen_ai_client_operation_duration_count{${at("good-1")}} 1`)
      expect(text).toMatch(
        new RegExp(`gen_ai_client_token_usage_total\\{${at("good-1")},gen_ai_token_type="output"\\} 4`)
      )
      expect(text).toMatch(new RegExp(`gen_ai_client_cost_total\\{${at("good-1")}\\} 0\\.000011`))
      expect(text).toContain(`ell_router_circuit_state{deployment="broken-1",state="open"} 1`)
      expect(text).toContain(`ell_router_circuit_state{deployment="good-1",state="closed"} 1`)
      expect(text).toContain(`ell_router_circuit_state{deployment="good-1",state="open"} 0`)
      expect(text).toContain(`ell_router_circuit_trips_total{deployment="broken-1"} 1`)
      expect(text).toContain("ell_router_failovers_total 1")
      for (const line of text.trimEnd().split("\n")) if (!line.startsWith("#")) expect(line).toMatch(seriesLine)
    })
  )

  it.effect("label values are escaped; gauges and frequencies are exported; names are made legal", () =>
    Effect.gen(function* () {
      yield* Metric.gauge("ell.test-gauge").pipe(Metric.tagged("path", 'a"b\\c\nd'), Metric.set(2.5))
      yield* Metric.frequency("ell.test.freq").pipe(Metric.update("x"))
      const text = yield* Metrics.render()
      expect(text).toContain(`ell_test_gauge{path="a\\"b\\\\c\\nd"} 2.5`)
      expect(text).toContain(`ell_test_freq_total{value="x"} 1`)
      expect(text.endsWith("\n")).toBe(true)
    })
  )

  it.effect("without router stats only Effect's metrics are exported", () =>
    Effect.gen(function* () {
      const text = yield* Metrics.render()
      expect(text).not.toContain("ell_router_")
    })
  )
})
