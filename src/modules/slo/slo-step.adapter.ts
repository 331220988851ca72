import { Injectable } from '@nestjs/common';
import {
  SloStepPort,
  type SloSettlingCharge,
  type SloSettlingLease,
} from '@/modules/billing/settlement/domain/slo-step.port';
import type { Period } from '@/shared/periods';
import { SloService } from './slo.service';

/** Settlement's SLO step, served by the SLO service. */
@Injectable()
export class SloStepAdapter extends SloStepPort {
  constructor(private readonly slo: SloService) {
    super();
  }

  settlesAt(lease: Pick<SloSettlingLease, 'hasSlo'>, period: Period, base: Date): Date {
    return this.slo.settlesAt(lease, period, base);
  }

  settlePeriods(lease: SloSettlingLease, charges: readonly SloSettlingCharge[], now: Date): Promise<bigint> {
    return this.slo.settlePeriods(lease, charges, now);
  }
}
