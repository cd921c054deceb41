// How resolve_bootstrap_config recognises mpirun and srun, in builds with and without MPI.
// The environments are the ones these launchers really set (Open MPI 4.1, Slurm 22.05).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "bootstrap/bootstrap_config.h"

namespace fb {
namespace {

using ::testing::HasSubstr;
using Env = std::map<std::string, std::string>;

GetenvFn getenv_of(const Env& env) {
  return [&env](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

Expected<BootstrapConfig> resolve(const Env& env, bool mpi_built, BootstrapFlags flags = {}) {
  return resolve_bootstrap_config(flags, getenv_of(env), mpi_built);
}

const Env kMpirun = {{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                     {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"PMIX_RANK", "1"},
                     {"PMIX_NAMESPACE", "1234567"}};
const Env kSrunPmix = {{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_STEP_ID", "0"},
                       {"SLURM_STEP_NUM_TASKS", "2"}, {"PMIX_RANK", "1"},
                       {"PMIX_NAMESPACE", "slurm.pmix.7.0"}};
const Env kSrunPmi2 = {{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_STEP_ID", "0"},
                       {"PMI_RANK", "1"}, {"PMI_SIZE", "2"}, {"PMI_FD", "5"}};
const Env kSrunNoPlugin = {{"SLURM_PROCID", "1"}, {"SLURM_NTASKS", "2"}, {"SLURM_STEP_ID", "0"},
                           {"SLURM_STEP_NUM_TASKS", "2"}};
// mpirun inside an sbatch job: every rank inherits the batch shell's Slurm variables.
const Env kMpirunInSbatch = {{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_JOB_ID", "7"},
                             {"OMPI_COMM_WORLD_RANK", "3"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                             {"PMIX_RANK", "3"}, {"PMIX_NAMESPACE", "3405643777"}};
// The batch script itself: an allocation of 2 tasks, but no step.
const Env kBatchShell = {{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}, {"SLURM_JOB_ID", "7"},
                         {"SLURM_LOCALID", "0"}};

TEST(LauncherDetection, EachLauncherIsRecognisedWithItsNumbers) {
  struct Case {
    const Env* env;
    const char* variable;
    const char* launcher;
    int rank;
    int size;
  };
  const Case cases[] = {
      {&kMpirun, "OMPI_COMM_WORLD_RANK", "mpirun", 1, 4},
      {&kSrunPmix, "PMIX_RANK", "srun", 1, 2},
      {&kSrunPmi2, "PMI_RANK", "srun", 1, 2},
      {&kSrunNoPlugin, "SLURM_PROCID", "srun", 1, 2},
      {&kMpirunInSbatch, "OMPI_COMM_WORLD_RANK", "mpirun", 3, 4},
  };
  for (const Case& c : cases) {
    const auto launched = detect_launcher(getenv_of(*c.env));
    ASSERT_TRUE(launched.has_value()) << c.variable;
    EXPECT_EQ(launched->variable, c.variable);
    EXPECT_EQ(launched->launcher, c.launcher);
    EXPECT_EQ(launched->rank, c.rank) << c.variable;
    EXPECT_EQ(launched->size, c.size) << c.variable;

    const auto got = resolve(*c.env, true);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got->kind, "mpi");
    EXPECT_EQ(got->detected_by, c.variable);
    EXPECT_EQ(got->rank, c.rank);
    EXPECT_EQ(got->size, c.size);
  }
}

TEST(LauncherDetection, PmixWithoutSlurmHasNoSize) {
  const auto launched =
      detect_launcher(getenv_of({{"PMIX_RANK", "2"}, {"PMIX_NAMESPACE", "prterun-host-1@1"}}));
  ASSERT_TRUE(launched.has_value());
  EXPECT_EQ(launched->launcher, "a PMIx launcher");
  EXPECT_EQ(launched->rank, 2);
  EXPECT_EQ(launched->size, -1);
  // A PMIX_RANK without its namespace is not a PMIx client's environment.
  EXPECT_FALSE(detect_launcher(getenv_of({{"PMIX_RANK", "2"}})).has_value());
}

TEST(LauncherDetection, NoLauncherMeansLocal) {
  for (const Env& env : {Env{}, kBatchShell,
                         Env{{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"SLURM_STEP_ID", "0"},
                             {"SLURM_STEP_NUM_TASKS", "1"}},
                         Env{{"OMPI_COMM_WORLD_RANK", ""}}}) {
    EXPECT_FALSE(detect_launcher(getenv_of(env)).has_value());
    const auto got = resolve(env, true);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got->kind, "local");
  }
}

TEST(LauncherDetection, AnExplicitBootstrapWins) {
  BootstrapFlags local;
  local.bootstrap = "local";
  auto got = resolve(kMpirun, true, local);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kind, "local");

  Env env = kSrunPmix;
  env["FABRICBENCH_BOOTSTRAP"] = "tcp://node01:29500";
  env["FABRICBENCH_RANK"] = "1";
  env["FABRICBENCH_SIZE"] = "2";
  got = resolve(env, true);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->kind, "tcp");
  // Without MPI in the build the explicit choice still works.
  EXPECT_TRUE(resolve(env, false).ok());
}

TEST(LauncherDetection, ExplicitMpi) {
  for (const char* uri : {"mpi", "mpi://"}) {
    BootstrapFlags f;
    f.bootstrap = uri;
    const auto got = resolve({}, true, f);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got->kind, "mpi");
    EXPECT_EQ(got->detected_by, "--bootstrap");
    EXPECT_EQ(got->size, -1);  // nothing announced: MPI's numbers are taken as they come
  }
  const auto from_env = resolve({{"FABRICBENCH_BOOTSTRAP", "mpi"}, {"OMPI_COMM_WORLD_RANK", "0"},
                                 {"OMPI_COMM_WORLD_SIZE", "2"}},
                                true);
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->detected_by, "FABRICBENCH_BOOTSTRAP");
  EXPECT_EQ(from_env->size, 2);

  BootstrapFlags addressed;
  addressed.bootstrap = "mpi://host:5";
  const auto bad = resolve({}, true, addressed);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("mpi takes no address"));
}

TEST(LauncherDetection, RankAndSizeFlagsAreRefusedUnderMpi) {
  BootstrapFlags f;
  f.rank = 0;
  f.size = 2;
  const auto got = resolve(kMpirun, true, f);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(got.status().message(), HasSubstr("mpirun -np N, srun -n N"));
}

TEST(LauncherDetection, WithoutMpiInTheBuildItIsAnErrorNotALocalJob) {
  const auto launched = resolve(kSrunPmix, false);
  ASSERT_FALSE(launched.ok());
  EXPECT_EQ(launched.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(launched.status().message(), HasSubstr("started by srun (PMIX_RANK is set)"));
  EXPECT_THAT(launched.status().message(), HasSubstr("this build has no MPI; rebuild with libopenmpi-dev"));
  EXPECT_THAT(launched.status().message(), HasSubstr("--bootstrap tcp://"));

  BootstrapFlags f;
  f.bootstrap = "mpi";
  const auto asked = resolve({}, false, f);
  ASSERT_FALSE(asked.ok());
  EXPECT_EQ(asked.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(asked.status().message(), HasSubstr("the mpi bootstrap was asked for (--bootstrap)"));
  EXPECT_THAT(asked.status().message(), HasSubstr("this build has no MPI"));
}

TEST(LauncherDetection, TheBuildSaysWhetherItHasMpi) {
  EXPECT_EQ(mpi_bootstrap_built(), FB_EXPECT_MPI_BOOTSTRAP);
}

}  // namespace
}  // namespace fb
