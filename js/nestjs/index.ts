/**
 * `ferrokafka/nestjs`: seed 001's NestJS module. Needs `@nestjs/common` and `@nestjs/core`
 * (10, 11 or 12) and `reflect-metadata`; `@nestjs/terminus` (10, 11 or 12) only for health
 * endpoints. NestJS 12 is ESM-only: this CommonJS module loads it with `require()`, which needs
 * Node 20.19+ or 22.12+.
 *
 * ```ts
 * import { KafkaModule, EventHandler } from 'ferrokafka/nestjs'
 * @Module({ imports: [KafkaModule], providers: [OrdersEventHandler] })
 * export class AppModule {}
 * ```
 */
export { KafkaModule } from './kafka.module'
export { EventHandler, EVENT_HANDLER_METADATA } from './event-handler.decorator'
export type { EventHandlerOptions, EventHandlerContext } from './event-handler.decorator'
export { EventHandlerRegistry } from './event-handler.registry'
export type { RegisteredHandler } from './event-handler.registry'
export { KafkaProducerService } from './kafka-producer.service'
export type { BatchMessage, ProducerStatus } from './kafka-producer.service'
export { KafkaConsumerService } from './kafka-consumer.service'
export type { ConsumerSubscription, ConsumerStatus } from './kafka-consumer.service'
export type { ConsumedMessage, SubscriptionHandler } from './group-consumer'
export { KafkaHealthIndicator, KafkaHealthCheckError } from './kafka-health.indicator'
export type { KafkaHealthResult } from './kafka-health.indicator'
export { KAFKA_MODULE_OPTIONS, KAFKA_SETTINGS, DEFAULT_DLQ_TOPIC, resolveSettings } from './options'
export type { KafkaModuleOptions, KafkaModuleAsyncOptions, KafkaSettings } from './options'
