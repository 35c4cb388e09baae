# lab-orders as a container image: built on Debian 12, run on Debian 12 slim with only the shared
# libraries the binary links (docker/runtime-packages.txt), as a non-root user, configured only by
# the environment (docs/contract.md §4). scripts/check-image.sh proves the runtime stage complete without
# a Docker engine.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY cmake cmake
COPY include include
COPY src src
COPY schemas schemas
# The API reference page GET /docs serves, compiled in beside the OpenAPI document.
COPY docs/reference.html docs/reference.html
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAB_ORDERS_BUILD_TESTS=OFF \
      -DLAB_ORDERS_BUILD_BENCH=OFF \
 && cmake --build build -j "$(nproc)" --target lab-orders \
 && strip --strip-debug build/lab-orders

FROM debian:12-slim AS runtime
COPY docker/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && grep -v '^#' /tmp/runtime-packages.txt \
    | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt
RUN useradd --system --home-dir /var/lib/lab-orders --create-home --shell /usr/sbin/nologin \
      lab-orders
COPY --from=build /src/build/lab-orders /usr/local/bin/lab-orders
COPY config/panels.json /etc/lab-orders/panels.json

# Defaults for a container; every other setting, and every secret (LAB_ORDERS_JWT_SECRET or
# LAB_ORDERS_JWT_PUBLIC_KEY, LAB_ORDERS_PHI_KEY, JUNCTION_API_KEY), comes from the environment.
ENV LAB_ORDERS_LISTEN=0.0.0.0:8080 \
    LAB_ORDERS_DATABASE=sqlite:/var/lib/lab-orders/lab-orders.db \
    LAB_ORDERS_PANELS=/etc/lab-orders/panels.json \
    LAB_ORDERS_SHUTDOWN_GRACE_MS=5000
USER lab-orders
WORKDIR /var/lib/lab-orders
EXPOSE 8080
# lab-orders serve blocks SIGTERM and SIGINT and waits for them itself: on either it stops taking
# requests (503), drains for LAB_ORDERS_SHUTDOWN_GRACE_MS, lets running jobs commit and exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["lab-orders", "healthcheck"]
ENTRYPOINT ["lab-orders"]
CMD ["serve"]
