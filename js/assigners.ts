/**
 * kafkajs `partitionAssigners` to librdkafka's `partition.assignment.strategy`. librdkafka runs
 * assignors inside its own thread and has no hook for a JavaScript one, so a custom assigner is
 * replaced by kafkajs's default strategy, round-robin (NestJS's `KafkaReplyPartitionAssigner` by
 * cooperative-sticky, see `standIns`), with one warning naming it.
 */
import type { Logger } from './logger'
import * as check from './validate'

const strategies = ['roundrobin', 'range', 'cooperative-sticky']
/** The names kafkajs's own assigners report, for users passing kafkajs's `PartitionAssigners`. */
const kafkajsNames: Record<string, string> = { RoundRobinAssigner: 'roundrobin' }
const FALLBACK = 'roundrobin'
/**
 * Custom assigners whose intent a built-in strategy serves. NestJS's reply-partition assigner
 * keeps each ClientKafka's reply partitions where they were, so a reply in flight still reaches
 * its requester when another client leaves: cooperative-sticky does that (round-robin reshuffles).
 */
const standIns: Record<string, string> = { NestReplyPartitionAssigner: 'cooperative-sticky' }
// (A group must agree on one strategy: members of an older ferrokafka, which offered round-robin
// here, and of this one cannot share a reply group; a rolling upgrade replaces them all first.)

/** The name a kafkajs assigner factory gives itself, by creating it as kafkajs's consumer does. */
function nameOf(create: (config: object) => { name?: unknown }, groupId: string, logger: Logger): string {
  try {
    const made = create({ groupId, logger, cluster: null })
    if (made && typeof made.name === 'string' && made.name) return made.name
  } catch {
    // An assigner needing kafkajs's cluster object at creation: its function name will do.
  }
  return create.name || 'an anonymous assigner'
}

/**
 * The librdkafka strategies for a consumer's `partitionAssigners`; warns once about custom ones.
 * None given: kafkajs's default, round-robin, first (a group of ferrokafka members chooses it);
 * range is offered too, so a member can still join a group of librdkafka or Java clients that
 * offer only range.
 */
export function assignmentStrategies(assigners: unknown[] | undefined, groupId: string, logger: Logger): string[] {
  if (assigners === undefined) return [FALLBACK, 'range']
  const out: string[] = []
  const custom: string[] = []
  if (assigners !== undefined && !Array.isArray(assigners)) throw check.invalid('partitionAssigners', 'must be an array of assigners')
  for (const [i, a] of (assigners ?? []).entries()) {
    if (typeof a === 'string' && strategies.includes(a)) { out.push(a); continue }
    if (typeof a !== 'function') throw check.invalid(`partitionAssigners[${i}]`, `must be an assigner function or one of ${strategies.join(', ')}`)
    const own = (a as { assignerName?: string }).assignerName
    if (own && strategies.includes(own)) { out.push(own); continue }
    const name = nameOf(a as (config: object) => { name?: unknown }, groupId, logger)
    if (kafkajsNames[name]) out.push(kafkajsNames[name])
    else custom.push(name)
  }
  const chosen = [...new Set(out)]
  if (custom.length > 0) {
    // A stand-in only alone: librdkafka refuses cooperative and eager strategies side by side.
    if (chosen.length === 0) chosen.push(standIns[custom[0]] ?? FALLBACK)
    logger.warn(
      `Custom partition assigner ${custom.map((n) => `"${n}"`).join(', ')} cannot run inside librdkafka: ` +
        `group "${groupId}" uses librdkafka's "${chosen.join(',')}" strategy instead`,
      { groupId, assigners: custom, strategy: chosen.join(',') },
    )
  }
  return chosen
}
