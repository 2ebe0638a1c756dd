/**
 * kafkajs's `sasl.oauthBearerProvider` on librdkafka. The provider is called before a client of
 * the `Kafka` opens a connection and again when librdkafka's token is three quarters through its
 * life; each token goes to the native side, which answers librdkafka's token requests from it
 * (src/oauth.rs) without ever making a librdkafka thread wait for JavaScript.
 */
import { KafkaJSConnectionError, KafkaJSNonRetriableError, callSync } from './errors'
import type { Logger } from './logger'
import { native } from './native'

/** What an `oauthBearerProvider` resolves to (kafkajs's `OauthbearerProviderResponse`). */
export interface OauthbearerProviderResponse {
  value: string
}

/** Lifetime assumed for a token that is not a JWT with an `exp` claim. */
const DEFAULT_LIFETIME_MS = 15 * 60_000
let instances = 0

/** The `exp` and `sub` claims of a JWT, when the token is one. */
function claims(token: string): { exp?: unknown; sub?: unknown } {
  const parts = token.split('.')
  if (parts.length !== 3) return {}
  try {
    const parsed = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
    return parsed && typeof parsed === 'object' ? parsed : {}
  } catch {
    return {}
  }
}

/** The provider of one `Kafka` and the token it last returned (internal). */
export class OauthBearerTokens {
  /** Names the native token cell in the client config (`sasl.oauthBearerProviderId`). */
  readonly id = `ferrokafka-oauth-${process.pid}-${++instances}`
  private freshUntil = 0
  private pending: Promise<void> | null = null

  constructor(private readonly provider: () => Promise<OauthbearerProviderResponse> | OauthbearerProviderResponse, private readonly logger: Logger) {}

  /** Makes sure the native side holds a token with at least half its life left. */
  async ensure(): Promise<void> {
    if (Date.now() < this.freshUntil) return
    await this.fetch()
  }

  private fetch(): Promise<void> {
    this.pending ??= this.load().finally(() => { this.pending = null })
    return this.pending
  }

  private async load(): Promise<void> {
    let result: unknown
    try {
      result = await this.provider()
    } catch (cause) {
      // Retriable: a token endpoint may fail for a moment; its own error stays in `cause`.
      throw new KafkaJSConnectionError('sasl.oauthBearerProvider failed (see `cause`)', { field: 'sasl.oauthBearerProvider', cause: cause as Error })
    }
    const value = (result as { value?: unknown } | null | undefined)?.value
    if (typeof value !== 'string' || value === '') {
      throw new KafkaJSNonRetriableError('Invalid option `sasl.oauthBearerProvider`: must resolve to { value } with a non-empty token string', { field: 'sasl.oauthBearerProvider' })
    }
    const { exp, sub } = claims(value)
    const now = Date.now()
    const expiresAtMs = typeof exp === 'number' ? exp * 1000 : now + DEFAULT_LIFETIME_MS
    const principal = typeof sub === 'string' && sub !== '' ? sub : 'ferrokafka'
    callSync(() => native.setOauthbearerToken(this.id, { value, expiresAtMs, principal }, () => this.refreshInBackground()))
    this.freshUntil = now + (expiresAtMs - now) / 2
  }

  /** Asked by the native side: fetch the next token now, logging (never throwing) a failure. */
  private refreshInBackground(): void {
    this.fetch().catch((e: Error) => this.logger.error(`sasl.oauthBearerProvider: token refresh failed: ${e.message}`, { field: 'sasl.oauthBearerProvider' }))
  }
}
