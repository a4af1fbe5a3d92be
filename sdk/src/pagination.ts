/** One page of a list: the contract's `{data, nextCursor}`. */
export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

export interface ListParams {
  /** Page size, 1–200 (default 50). */
  limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  cursor?: string | undefined;
}

/**
 * What every list method returns: `await` it for one page (`{data, nextCursor}`), or iterate it with
 * `for await` to walk every item of every page, fetching the next page only when needed.
 *
 * ```ts
 * const first = await fj.listRuns(runnerId, { limit: 20 });
 * for await (const run of fj.listRuns(runnerId)) console.log(run.id, run.status);
 * ```
 */
export class PagePromise<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  private first: Promise<Page<T>> | undefined;

  constructor(
    private readonly fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
    private readonly startCursor?: string | undefined,
  ) {}

  private page(): Promise<Page<T>> {
    this.first ??= this.fetchPage(this.startCursor);
    return this.first;
  }

  then<R1 = Page<T>, R2 = never>(
    onfulfilled?: ((value: Page<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.page().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.page().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Page<T>> {
    return this.page().finally(onfinally);
  }

  /** Every page, in order. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let page = await this.page();
    yield page;
    while (page.nextCursor) {
      page = await this.fetchPage(page.nextCursor);
      yield page;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item of every page in one array (mind the size of what you list). */
  async toArray(): Promise<T[]> {
    const all: T[] = [];
    for await (const item of this) all.push(item);
    return all;
  }
}
