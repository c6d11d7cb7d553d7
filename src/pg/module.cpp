// Module entry: PG_MODULE_MAGIC, _PG_init (settings, the core's interrupt hook) and abx.now().
#include "access.hpp"
#include "pg.hpp"
#include "settings.hpp"
#include "denials.hpp"
#include "workers.hpp"
#include "spi.hpp"

#include "abx/interrupt.hpp"

extern "C" {
#include "miscadmin.h"
PG_MODULE_MAGIC;
void _PG_init(void);
}

void _PG_init(void) {
    // Called by PostgreSQL while loading the library, outside any C++ frame.
    abx::pg::define_settings();
    abx::pg::register_access_callbacks();
    if (process_shared_preload_libraries_in_progress) {
        abx::pg::request_denial_queue();
        abx::pg::register_workers();
    }
    abx::set_interrupt_check(abx::pg::throw_if_interrupted);
}

ABX_SQL_FUNCTION(abx_now) {
    return TimestampTzGetDatum(abx::pg::abx_now());
}
