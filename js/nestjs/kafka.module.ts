/** Seed 001's `KafkaModule`: global; plain (`imports: [KafkaModule]`, `KAFKA_*` configuration) or `forRoot`/`forRootAsync`. */
import { Global, Module, type DynamicModule } from '@nestjs/common'
import { DiscoveryModule } from '@nestjs/core'
import { EventHandlerRegistry } from './event-handler.registry'
import { KafkaConsumerService } from './kafka-consumer.service'
import { KafkaHealthIndicator } from './kafka-health.indicator'
import { KafkaProducerService } from './kafka-producer.service'
import { KAFKA_MODULE_OPTIONS, KAFKA_SETTINGS, resolveSettings, type KafkaModuleAsyncOptions, type KafkaModuleOptions } from './options'

const exported = [KafkaProducerService, KafkaConsumerService, EventHandlerRegistry, KafkaHealthIndicator, KAFKA_SETTINGS]

/**
 * ```ts
 * @Module({ imports: [KafkaModule] })                                  // KAFKA_* variables
 * @Module({ imports: [KafkaModule.forRoot({ brokers, clientId })] })
 * @Module({ imports: [KafkaModule.forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (c) => ({ ... }) })] })
 * ```
 * Provides and exports `KafkaProducerService`, `KafkaConsumerService`, `EventHandlerRegistry`
 * and `KafkaHealthIndicator` everywhere.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    // Overridden by forRoot/forRootAsync: a dynamic module's providers come after these.
    { provide: KAFKA_MODULE_OPTIONS, useValue: {} },
    { provide: KAFKA_SETTINGS, useFactory: (options: KafkaModuleOptions) => resolveSettings(options), inject: [KAFKA_MODULE_OPTIONS] },
    KafkaProducerService, KafkaConsumerService, EventHandlerRegistry, KafkaHealthIndicator,
  ],
  exports: exported,
})
export class KafkaModule {
  /** The module with explicit options; what they leave out comes from `KAFKA_*`. */
  static forRoot(options: KafkaModuleOptions = {}): DynamicModule {
    return { module: KafkaModule, global: true, providers: [{ provide: KAFKA_MODULE_OPTIONS, useValue: options }] }
  }

  /** The module with options from a factory (e.g. a `ConfigService`), resolved before any client starts. */
  static forRootAsync(options: KafkaModuleAsyncOptions): DynamicModule {
    if (!options || typeof options.useFactory !== 'function') {
      throw new TypeError('KafkaModule.forRootAsync: `useFactory` must be a function returning the module options')
    }
    return {
      module: KafkaModule, global: true, imports: options.imports ?? [],
      providers: [{ provide: KAFKA_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }],
    }
  }
}
