/**
 * Seed 004's shared config names: `KAFKA_TOPICS` (its predefined topics, which a broker that
 * auto-creates topics creates on first use;
 * `KAFKA_TOPICS.USER_CREATED` is `'user.created'`) and `getConsumerGroup(name)`, the service's
 * group name for `name` (`<clientId>-<name>`), so `require('../shared/config/kafka.config')` can
 * become `require('ferrokafka')`.
 */
import { getKafkaService } from './kafka-service'

export const KAFKA_TOPICS = Object.freeze({
  USER_CREATED: 'user.created',
  USER_UPDATED: 'user.updated',
  USER_DELETED: 'user.deleted',
  USER_LOGIN: 'user.login',
  USER_LOGOUT: 'user.logout',
  EMPLOYEE_CREATED: 'employee.created',
  EMPLOYEE_UPDATED: 'employee.updated',
  EMPLOYEE_DELETED: 'employee.deleted',
  EMPLOYEE_TRANSFER: 'employee.transfer',
  ATTENDANCE_CHECKIN: 'attendance.checkin',
  ATTENDANCE_CHECKOUT: 'attendance.checkout',
  ATTENDANCE_APPROVED: 'attendance.approved',
  PAYROLL_PROCESSED: 'payroll.processed',
  SALARY_CALCULATED: 'salary.calculated',
  PAYROLL_APPROVED: 'payroll.approved',
  CUSTOMER_CREATED: 'customer.created',
  CUSTOMER_UPDATED: 'customer.updated',
  ORDER_CREATED: 'order.created',
  ORDER_UPDATED: 'order.updated',
  SALE_CREATED: 'sale.created',
  SALE_COMPLETED: 'sale.completed',
  SALE_CANCELLED: 'sale.cancelled',
  INVENTORY_STOCK_UPDATED: 'inventory.stock.updated',
  PRODUCT_CREATED: 'product.created',
  PRODUCT_UPDATED: 'product.updated',
  NOTIFICATION_SENT: 'notification.sent',
  EMAIL_SENT: 'email.sent',
  SMS_SENT: 'sms.sent',
  DOCUMENT_UPLOADED: 'document.uploaded',
  DOCUMENT_APPROVED: 'document.approved',
  DOCUMENT_REJECTED: 'document.rejected',
  AUDIT_LOG: 'audit.log',
  SECURITY_EVENT: 'security.event',
  SERVICE_HEALTH: 'service.health',
  SERVICE_ERROR: 'service.error',
} as const)

/** `getKafkaService().getConsumerGroup(name)`: `<clientId>-<name>`. */
export function getConsumerGroup(name: string): string {
  return getKafkaService().getConsumerGroup(name)
}
