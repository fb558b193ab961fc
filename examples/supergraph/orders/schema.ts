import { randomUUID } from 'node:crypto';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse, type GraphQLSchema } from 'graphql';
import type { Caller } from './access-token.js';

/**
 * The orders subgraph: another team's service that extends the auth gateway's `User` entity
 * with the user's orders. It owns no user data; it only knows user ids, and learns who is
 * calling from the access token the router forwards.
 */
export const ordersSdl = `#graphql
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  "An order placed by a signed-in user."
  type Order {
    id: ID!
    item: String!
    quantity: Int!
    "ISO 8601."
    placedAt: String!
    "The buyer; the router fetches the user's fields from the auth subgraph."
    buyer: User!
  }

  # Owned by the auth subgraph (no description here: the owner's wins); this subgraph adds orders.
  type User @key(fields: "id") {
    id: ID!
    "The user's orders, newest first. Only the user themself may read them."
    orders: [Order!]!
  }

  type Mutation {
    "Places an order for the signed-in caller."
    placeOrder(item: String!, quantity: Int! = 1): Order!
  }
`;
export const ordersTypeDefs = parse(ordersSdl);

export interface OrdersContext {
  /** The verified caller, or null without an Authorization header; rejects on a bad token. */
  caller(): Promise<Caller | null>;
}

interface OrderRecord {
  id: string;
  buyerId: string;
  item: string;
  quantity: number;
  placedAt: string;
}

/** An in-memory order book: enough for the example. */
export class OrderBook {
  private readonly byBuyer = new Map<string, OrderRecord[]>();

  place(buyerId: string, item: string, quantity: number): OrderRecord {
    const order = { id: randomUUID(), buyerId, item, quantity, placedAt: new Date().toISOString() };
    this.byBuyer.set(buyerId, [order, ...(this.byBuyer.get(buyerId) ?? [])]);
    return order;
  }

  of(buyerId: string): OrderRecord[] {
    return this.byBuyer.get(buyerId) ?? [];
  }

  /** Forgets every order of a buyer whose account was deleted (./account-events.ts). */
  erase(buyerId: string): void {
    this.byBuyer.delete(buyerId);
  }
}

async function requireCaller(ctx: OrdersContext): Promise<Caller> {
  const caller = await ctx.caller();
  if (!caller) throw new GraphQLError('Sign in first.', { extensions: { code: 'UNAUTHENTICATED' } });
  return caller;
}

export function buildOrdersSchema(book: OrderBook): GraphQLSchema {
  return buildSubgraphSchema([
    {
      typeDefs: ordersTypeDefs,
      resolvers: {
        User: {
          // The router sends `{ __typename: "User", id }`; the representation is all we need.
          orders: async (user: { id: string }, _args: unknown, ctx: OrdersContext) => {
            const caller = await requireCaller(ctx);
            if (caller.userId !== user.id) throw new GraphQLError("Only the user themself may read their orders.", { extensions: { code: 'FORBIDDEN' } });
            return book.of(user.id);
          },
        },
        Order: {
          // An entity reference: the router resolves the rest of the User in the auth subgraph.
          buyer: (order: OrderRecord) => ({ __typename: 'User', id: order.buyerId }),
        },
        Mutation: {
          placeOrder: async (_root: unknown, args: { item: string; quantity: number }, ctx: OrdersContext) => {
            const caller = await requireCaller(ctx);
            const item = args.item.trim();
            if (item.length === 0 || item.length > 100 || args.quantity < 1 || args.quantity > 100) {
              throw new GraphQLError('item must be 1–100 characters and quantity 1–100.', { extensions: { code: 'BAD_USER_INPUT' } });
            }
            return book.place(caller.userId, item, args.quantity);
          },
        },
      },
    },
  ]);
}
