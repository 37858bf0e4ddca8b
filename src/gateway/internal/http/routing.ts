/**
 * Per-request routing headers: `x-ell-tags` (comma-separated), `x-ell-timeout` (milliseconds, or an Effect duration
 * such as `2 seconds`) and `x-ell-max-attempts` (a whole number ≥ 1). A bad value is a 400 naming the header — a
 * client that asked for a limit must not silently run without it.
 *
 * The headers come from anybody holding a key, so they may tighten the router's limits but never loosen them: a
 * value above the router's own `maxAttempts` or `timeout` ({@link Limits}) is a 400 naming the header and its
 * maximum. Refused rather than clamped, for the same reason as a bad value: a client that asked for ten attempts or
 * a minute per call and silently got less would misread the failure it then sees.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { RequestProblem } from "./errors.js"

/** The most the headers may ask for: the router's own limits (absent: the router has none, any value is lower). */
export interface Limits {
  readonly maxAttempts?: number | undefined
  readonly timeout?: Duration.Duration | undefined
}

/** What the headers ask for; fields absent when the header is. */
export interface Settings {
  readonly tags?: ReadonlyArray<string> | undefined
  readonly timeout?: Duration.Duration | undefined
  readonly maxAttempts?: number | undefined
}

const bad = (header: string, problem: string, value: string) =>
  new RequestProblem({
    status: 400,
    param: header,
    code: "invalid_header",
    message: `header ${header}: ${problem}, got ${JSON.stringify(value.slice(0, 100))}`
  })

const parseTimeout = (raw: string): Option.Option<Duration.Duration> => {
  const text = raw.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Option.some(Duration.millis(Number(text)))
  return Duration.decodeUnknown(text)
}

/** The routing settings of a request, `undefined` when it has no routing header. */
export const parse = (
  request: HttpServerRequest.HttpServerRequest,
  limits: Limits
): Either.Either<Settings | undefined, RequestProblem> => {
  const tagsHeader = request.headers["x-ell-tags"]
  const timeoutHeader = request.headers["x-ell-timeout"]
  const attemptsHeader = request.headers["x-ell-max-attempts"]
  if (tagsHeader === undefined && timeoutHeader === undefined && attemptsHeader === undefined) {
    return Either.right(undefined)
  }
  let tags: ReadonlyArray<string> | undefined
  if (tagsHeader !== undefined) {
    tags = tagsHeader.split(",").map((t) => t.trim())
    if (tags.some((t) => t === "")) {
      return Either.left(bad("x-ell-tags", "expected comma-separated tag names without empty entries", tagsHeader))
    }
  }
  let timeout: Duration.Duration | undefined
  if (timeoutHeader !== undefined) {
    const parsed = parseTimeout(timeoutHeader)
    if (Option.isNone(parsed) || !Duration.isFinite(parsed.value) || Duration.toMillis(parsed.value) <= 0) {
      return Either.left(
        bad("x-ell-timeout", "expected a positive duration in milliseconds or like '30 seconds'", timeoutHeader)
      )
    }
    if (limits.timeout !== undefined && Duration.greaterThan(parsed.value, limits.timeout)) {
      const most = Duration.format(limits.timeout)
      return Either.left(bad("x-ell-timeout", `may not raise the router's timeout: at most ${most}`, timeoutHeader))
    }
    timeout = parsed.value
  }
  let maxAttempts: number | undefined
  if (attemptsHeader !== undefined) {
    const n = Number(attemptsHeader.trim())
    if (!/^\d+$/.test(attemptsHeader.trim()) || !Number.isSafeInteger(n) || n < 1) {
      return Either.left(bad("x-ell-max-attempts", "expected a whole number ≥ 1", attemptsHeader))
    }
    if (limits.maxAttempts !== undefined && n > limits.maxAttempts) {
      const most = limits.maxAttempts
      return Either.left(
        bad("x-ell-max-attempts", `may not raise the router's maxAttempts: at most ${most}`, attemptsHeader)
      )
    }
    maxAttempts = n
  }
  return Either.right({ tags, timeout, maxAttempts })
}
