import { Module } from '@nestjs/common';
import { Currencies } from './currencies.service';

/** The currencies markets trade in, shared by every billing module so that one cache serves them all. */
@Module({ providers: [Currencies], exports: [Currencies] })
export class CurrenciesModule {}
