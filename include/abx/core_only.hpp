// Every header of the pure core includes this first. The core decides; it must not know PostgreSQL.
// The core library is compiled with ABX_CORE_BUILD and without PostgreSQL's include directories, so
// `#include "postgres.h"` in src/core cannot even be found; this guard also refuses the case where
// PostgreSQL's headers were pulled in before a core header inside the core build.
#pragma once

#if defined(ABX_CORE_BUILD) && (defined(PG_VERSION_NUM) || defined(POSTGRES_H))
#error "abx core must not include PostgreSQL headers (postgres.h): keep PostgreSQL glue in src/pg/"
#endif
