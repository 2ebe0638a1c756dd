// Seed 003's "Monitoring and Health Checks" endpoint, Common Patterns (event sourcing, saga) and
// the Troubleshooting connection test, on the shared `kafkaService`.
const http = require('http')
const { Kafka } = require('../..')
const { inbox } = require('../inbox')

/** Just enough of an Express-like `app` for the seed's `app.get(path, async () => body)`. */
function miniApp() {
  const routes = new Map()
  const server = http.createServer(async (req, res) => {
    const route = req.method === 'GET' && routes.get(req.url)
    if (!route) return res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await route(req)))
  })
  return {
    get: (path, handler) => routes.set(path, handler),
    listen: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port))),
    close: () => new Promise((resolve) => server.close(resolve)),
  }
}

/** GET /health/kafka over HTTP, answered by the seed's handler. */
async function healthEndpoint({ kafkaService, step }) {
  const config = { kafka: { clientId: process.env.KAFKA_CLIENT_ID, brokers: process.env.KAFKA_BROKERS.split(',') } }
  const app = miniApp()

  // Implement health check endpoint
  app.get('/health/kafka', async () => {
    return {
      status: kafkaService.isConnected ? 'connected' : 'disconnected',
      clientId: config.kafka.clientId,
      brokers: config.kafka.brokers
    }
  })

  const port = await app.listen()
  const res = await fetch(`http://127.0.0.1:${port}/health/kafka`)
  const body = await res.text()
  await app.close()
  step(`monitoring: GET /health/kafka -> ${res.status} ${body}`)
}

/** Event sourcing, the saga that follows an order, and the connection test. */
async function commonPatterns({ kafkaService, step, brokers }) {
  // The records a topic holds, read by an admin client of its own: proof a send reached the broker.
  const admin = new Kafka({ brokers, clientId: 'seed-003-observer', logLevel: 0 }).admin()
  await admin.connect()
  const records = async (topic) => (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0)

  // 1. Event sourcing
  class OrderEventSourcing {
    static async publishOrderCreated(order) {
      await kafkaService.send('orders.events', {
        type: 'ORDER_CREATED',
        orderId: order.id,
        customerId: order.customerId,
        items: order.items,
        total: order.total,
        timestamp: new Date().toISOString()
      })
    }

    static async publishOrderUpdated(orderId, changes) {
      await kafkaService.send('orders.events', {
        type: 'ORDER_UPDATED',
        orderId,
        changes,
        timestamp: new Date().toISOString()
      })
    }
  }
  const before = await records('orders.events')
  await OrderEventSourcing.publishOrderCreated({ id: 'ORD-1', customerId: 'C-1', items: [{ sku: 'A-1', qty: 2 }], total: 40 })
  await OrderEventSourcing.publishOrderUpdated('ORD-1', { status: 'confirmed' })
  step(`event sourcing: ORDER_CREATED and ORDER_UPDATED for ORD-1 appended, orders.events went from ${before} to ${await records('orders.events')} records`)

  // 2. Saga: ORDER_CREATED starts it (a payment stand-in answers), PAYMENT_COMPLETED continues it.
  const steps = inbox()
  class OrderSagaOrchestrator {
    static async init() {
      await kafkaService.init().connectConsumer('order-saga')
      await kafkaService.subscribe('orders.events', this.handleOrderEvent)
    }

    // The seed passes `this.handleOrderEvent` unbound: the service calls it as a plain function,
    // so `this` is undefined in here; the class is named instead (as EventProcessor does).
    static async handleOrderEvent(message) {
      switch (message.type) {
        case 'ORDER_CREATED':
          await OrderSagaOrchestrator.startOrderSaga(message)
          break
        case 'PAYMENT_COMPLETED':
          await OrderSagaOrchestrator.continueOrderSaga(message)
          break
        // Handle other saga steps
      }
    }

    static async startOrderSaga(order) {
      console.log(`Saga started for ${order.orderId}: payment of ${order.total} requested`)
      steps.push({ orderId: order.orderId, type: order.type })
      // Stands in for the payment service answering the request.
      await kafkaService.send('orders.events', { type: 'PAYMENT_COMPLETED', orderId: order.orderId, amount: order.total, timestamp: new Date().toISOString() })
    }

    static async continueOrderSaga(payment) {
      console.log(`Saga continued for ${payment.orderId}: payment of ${payment.amount} completed, shipping next`)
      steps.push({ orderId: payment.orderId, type: payment.type })
    }
  }
  await OrderSagaOrchestrator.init()
  await OrderEventSourcing.publishOrderCreated({ id: 'ORD-2', customerId: 'C-2', items: [{ sku: 'B-7', qty: 1 }], total: 99.5 })
  const of2 = (xs) => xs.filter((x) => x.orderId === 'ORD-2').map((x) => x.type)
  const saga = await steps.until((xs) => of2(xs).length >= 2, 'the ORD-2 saga reaching PAYMENT_COMPLETED')
  step(`saga: order-saga handled ${of2(saga).join(' then ')} for ORD-2`)

  // Troubleshooting: test connection
  const testKafka = async () => {
    try {
      await kafkaService.init().connectProducer()
      await kafkaService.send('test-topic', { test: true })
      console.log('Kafka connection successful')
    } catch (error) {
      console.error('Kafka connection failed:', error.message)
    }
  }
  const held = await records('test-topic')
  await testKafka()
  step(`test connection: test-topic went from ${held} to ${await records('test-topic')} records`)
  await admin.disconnect()
}

module.exports = { healthEndpoint, commonPatterns }
