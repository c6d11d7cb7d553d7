// Jobs (abx.jobs) as the SQL functions and the scheduler both see them (jobs.cpp).
#pragma once
#include "spi.hpp"

#include "abx/schedule.hpp"

namespace abx::pg {

struct JobRow {
    std::int64_t id = 0;
    std::string name, command, owner;
    std::optional<std::string> organization;
    Schedule schedule;
    long max_runtime_ms = 0;
    int max_retries = 0;
    std::int64_t backoff_us = 0;
    TimestampTz slot = 0;
    int attempt = 1;
};

// The SELECT list read_job reads (from abx.jobs, no alias).
extern const char* const kJobColumns;
JobRow read_job(std::uint64_t row);

// Runs the job's command as its owner (acting for its organization), bounded by its max runtime;
// inside a transaction, without an open SPI connection, in the scheduler. Returns the first column
// of the first row, if any. Throws PgError (57014 for an overstayed run).
std::optional<std::string> execute_job_as_owner(const JobRow& job);

// The slot after `job.slot` when the clock reads `now`.
TimestampTz next_slot_after(const JobRow& job, TimestampTz now);

}  // namespace abx::pg
