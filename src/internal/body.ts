/**
 * Reading an upstream's body within a byte cap: the read stops as soon as the cap is passed (closing the connection),
 * so memory stays within the cap plus one network chunk however much the upstream would send.
 */
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * The default cap on a successful JSON body: 64 MiB. Chat and embedding answers are kilobytes to a few megabytes; a
 * body past this is a broken or hostile upstream, and reading it whole would exhaust memory.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultMaxBodySize = 64 * 1024 * 1024

/**
 * The most of an error answer's body that is read (64 KiB). Error bodies are a few hundred bytes; a proxy's HTML page
 * or a broken upstream could send far more, and only the start matters for the message.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxErrorBodyBytes = 64 * 1024

/**
 * Reads a body until it ends or passes `cap` bytes, whichever comes first; stopping early closes the connection, so
 * memory stays within the cap plus one network chunk however much the upstream would send.
 *
 * @since 0.1.0
 * @category reading
 */
export const readUpTo = (
  response: HttpClientResponse.HttpClientResponse,
  cap: number
): Effect.Effect<{ readonly bytes: Uint8Array; readonly over: boolean }, HttpClientError.ResponseError> =>
  response.stream.pipe(
    Stream.runFoldWhile(
      { parts: [] as Array<Uint8Array>, size: 0 },
      (acc) => acc.size <= cap,
      (acc, part) => {
        acc.parts.push(part)
        acc.size += part.length
        return acc
      }
    ),
    Effect.map(({ parts, size }) => {
      const bytes = new Uint8Array(size)
      let offset = 0
      for (const part of parts) {
        bytes.set(part, offset)
        offset += part.length
      }
      return { bytes, over: size > cap }
    })
  )

/**
 * Reads at most {@link maxErrorBodyBytes} of an error body, then stops; "" if reading fails.
 *
 * @since 0.1.0
 * @category reading
 */
export const readErrorBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<string> =>
  readUpTo(response, maxErrorBodyBytes).pipe(
    Effect.map(({ bytes }) => new TextDecoder().decode(bytes.subarray(0, maxErrorBodyBytes))),
    Effect.orElseSucceed(() => "")
  )
