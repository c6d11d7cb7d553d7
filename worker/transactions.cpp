#include "workers.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/snapmgr.h"
}

namespace abx::pg {

void begin_worker_transaction() {
    pg_guard([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
}

void commit_worker_transaction() {
    pg_guard([] {
        PopActiveSnapshot();
        CommitTransactionCommand();
    });
}

}  // namespace abx::pg
