// Shared by the unit tests: asserting that a call is refused the way the SQL API promises.
#pragma once
#include "abx/error.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

// Expects an abx::Error with this SQLSTATE whose message contains `fragment`.
inline void expect_error(const std::function<void()>& f, const std::string& sqlstate,
                         const std::string& fragment) {
    try {
        f();
        ADD_FAILURE() << "no error; expected " << sqlstate << " mentioning " << fragment;
    } catch (const abx::Error& e) {
        EXPECT_EQ(e.sqlstate, sqlstate) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << "message \"" << e.what() << "\" lacks \"" << fragment << "\"";
    }
}

// Expects an abx::Error with SQLSTATE 22023 whose message names `field`.
inline void expect_invalid(const std::function<void()>& f, const std::string& field) {
    expect_error(f, "22023", field);
}
