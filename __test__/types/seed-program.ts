// Seed 002's producer example, typed as its docs write it (checked by `tsc --noEmit --strict`):
// `sendMessage` takes a partial `EventMessage`, metadata fields included.
import { EventProducer, type EventMessage, type EventMessageInput, type KafkaClusterConfig } from 'ferrokafka'

export async function seed002Producer(): Promise<void> {
  // Seed 002 names the cluster configuration's type `KafkaClusterConfig`.
  const clusterConfig: KafkaClusterConfig = { clientId: 'my-service', brokers: ['localhost:9092'] }
  const producer = new EventProducer(clusterConfig)
  await producer.connect()
  await producer.sendMessage('employee.onboard', {
    type: 'employee.onboard',
    payload: { employeeId: 'emp-123', name: 'John Doe', department: 'Engineering' },
    metadata: { source: 'hr-system', organizationId: 'org-456' },
  })
  const message: EventMessageInput<{ employeeId: string }> = { type: 'employee.onboard', payload: { employeeId: 'emp-123' }, metadata: { source: 'hr-system' } }
  await producer.sendToOrganizationTopic('employee.onboard', 'org-456', message)
  // A complete message is accepted as well.
  const full: EventMessage = { id: 'm1', type: 't', payload: {}, metadata: { correlationId: 'c', timestamp: new Date(), source: 's', version: '1.0' } }
  await producer.sendMessage('t', full)
  await producer.disconnect()
}

// Seed 004's shared config names, from the package.
import { KAFKA_TOPICS, getConsumerGroup, getKafkaService } from 'ferrokafka'
export async function seed004Subscribe(): Promise<void> {
  const topic: 'user.created' = KAFKA_TOPICS.USER_CREATED
  await getKafkaService().subscribe(topic, getConsumerGroup('notification-service'), async (event) => { void event })
}
