/**
 * NestJS: `BeckonModule.forRoot(options)` or `forRootAsync({ useFactory, inject })` makes the
 * application discoverable once it listens, and stops discovery when it shuts down. Written
 * without decorator syntax, so it needs no compiler settings in the host app.
 */
import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  type ModuleMetadata,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type AttachOptions, checkAttachOptions } from './attach-options.js';
import { attachDiscovery, type DiscoveryHandle } from './http.js';
import { adaptLogger } from './logger-adapter.js';

/** Injection token of the options. */
export const BECKON_OPTIONS = Symbol('BECKON_OPTIONS');

/** Options of {@link BeckonModule.forRootAsync}. */
export interface BeckonModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => AttachOptions | Promise<AttachOptions>;
  inject?: unknown[];
}

/** Attaches discovery to the application's HTTP server; inject it to read `handle`. */
export class BeckonService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** Discovery attached to the HTTP server, once the application has bootstrapped. */
  handle: DiscoveryHandle | undefined;
  readonly #logger = new Logger('Beckon');

  constructor(
    private readonly options: AttachOptions,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer();
    if (!server) {
      this.#logger.warn('No HTTP server (a standalone or microservice app): discovery not started');
      return;
    }
    // Listening happens right after bootstrap: the handle starts the responder on `listening`.
    this.handle = attachDiscovery(server, { logger: adaptLogger(this.#logger), ...this.options });
  }

  /** Stops answering before the HTTP server closes, so no reply points at a closing server. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.handle?.stop();
  }
}
Injectable()(BeckonService);
Inject(BECKON_OPTIONS)(BeckonService, undefined, 0);
Inject(HttpAdapterHost)(BeckonService, undefined, 1);

/** The module. Global: `BeckonService` can be injected anywhere. */
// biome-ignore lint/complexity/noStaticOnlyClass: Nest modules are classes with static factories.
export class BeckonModule {
  /**
   * @throws {InvalidOptionError} at once for any invalid option.
   * @example
   * @Module({ imports: [BeckonModule.forRoot({ port: 9999 })] })
   * class AppModule {}
   */
  static forRoot(options: AttachOptions = {}): DynamicModule {
    checkAttachOptions(options);
    return module([{ provide: BECKON_OPTIONS, useValue: options }]);
  }

  /** Options from a factory, e.g. from a ConfigService; they are checked when it resolves. */
  static forRootAsync(options: BeckonModuleAsyncOptions): DynamicModule {
    return {
      ...module([
        {
          provide: BECKON_OPTIONS,
          useFactory: async (...args: never[]) => {
            const resolved = await options.useFactory(...args);
            checkAttachOptions(resolved);
            return resolved;
          },
          inject: (options.inject ?? []) as never[],
        },
      ]),
      imports: options.imports ?? [],
    };
  }
}
Module({})(BeckonModule);

function module(providers: NonNullable<ModuleMetadata['providers']>): DynamicModule {
  return {
    module: BeckonModule,
    global: true,
    providers: [...providers, BeckonService],
    exports: [BeckonService],
  };
}
