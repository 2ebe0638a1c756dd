// Seed 001's TypeScript examples must type-check against `ferrokafka/nestjs` under --strict.
import { Injectable, Logger, Module, Controller, Get } from '@nestjs/common'
import { HealthCheck, HealthCheckService, type HealthCheckResult, type HealthIndicatorResult } from '@nestjs/terminus'
import {
  EventHandler, KafkaModule, KafkaProducerService, KafkaConsumerService, KafkaHealthIndicator, EventHandlerRegistry,
  type EventHandlerContext, type KafkaModuleOptions,
} from 'ferrokafka/nestjs'
import type { RecordMetadata } from 'ferrokafka'

@Injectable()
export class OrdersEventHandler {
  private readonly logger = new Logger(OrdersEventHandler.name)

  @EventHandler({ eventName: 'order.created', topics: ['fsm.projects'], groupId: 'orders-creation-handler' })
  async handleOrderCreated(event: any, context: { topic: string; headers: Record<string, string>; partition: number; offset: string }): Promise<void> {
    this.logger.log(`Received order.created event | order: ${event.orderId} from ${context.topic}`)
  }

  @EventHandler({ eventName: 'order.*' })
  @EventHandler({ eventName: '*.status_changed', fromBeginning: true, autoCommit: true })
  async handleAny(event: { orderId: string }, context: EventHandlerContext): Promise<void> {
    const correlationId: string | undefined = context.headers['correlation-id'] ?? context.correlationId
    void correlationId
  }
}

@Controller('health')
export class HealthController {
  constructor(private health: HealthCheckService, private kafkaHealth: KafkaHealthIndicator) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      (): Promise<HealthIndicatorResult> => this.kafkaHealth.isHealthy('kafka'),
      () => this.kafkaHealth.isProducerHealthy(),
      () => this.kafkaHealth.isConsumerHealthy('consumers'),
    ])
  }
}

@Injectable()
export class Publisher {
  constructor(private readonly producer: KafkaProducerService, private readonly consumers: KafkaConsumerService, private readonly registry: EventHandlerRegistry) {}

  async publish(): Promise<RecordMetadata[]> {
    await this.producer.sendBatch('fsm.projects', [{ value: { a: 1 }, key: 'k', headers: { h: 'v' } }])
    await this.consumers.subscribe({ groupId: 'g', topics: ['t'], handler: async ({ data, headers, offset }) => { void [data, headers, offset] } })
    const names: string[] = this.registry.getHandlers().map((h) => `${h.className}.${h.methodName}`)
    void names
    return this.producer.sendEvent('projects.service_order.created', { orderId: '123' }, 'corr-1')
  }
}

const options: KafkaModuleOptions = { brokers: ['localhost:9092'], clientId: 'app', retryPolicy: { maxRetries: 3 }, domainTopics: { order: 'fsm.projects' } }

@Module({
  imports: [
    KafkaModule,
    KafkaModule.forRoot(options),
    KafkaModule.forRootAsync({ useFactory: async (): Promise<KafkaModuleOptions> => options, inject: [] }),
  ],
  controllers: [HealthController],
  providers: [OrdersEventHandler, Publisher],
})
export class AppModule {}
