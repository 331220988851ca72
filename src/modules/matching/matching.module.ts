import { Module } from '@nestjs/common';
import { OrderBookRepository } from './order-book.repository';
import { OrderBookService } from './order-book.service';

/** Matching: the pure core in domain/, and the book it reads. */
@Module({ providers: [OrderBookRepository, OrderBookService], exports: [OrderBookService] })
export class MatchingModule {}
