import type { AdminPrincipal, Principal } from './principal';

/**
 * The port the global AuthGuard resolves credentials through; the organisations module binds
 * it to its AuthService, so infra never imports a feature module.
 */
export abstract class Authenticator {
  /** `source` is the client IP: failed API-key authentications are limited per source. */
  abstract authenticate(bearer: string, source: string): Promise<Principal | AdminPrincipal>;

  /** Redeems a single-use stream ticket (routes marked @StreamTicketAccepted()). */
  abstract authenticateStreamTicket(ticket: string): Promise<Principal>;
}
