import {
  CreateProjectResponseSchema,
  DeleteProjectResponseSchema,
  GetProjectResponseSchema,
  ListProjectsResponseSchema,
  type ProjectService,
  UpdateProjectResponseSchema,
} from "@baton/wire/stratavore";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Role, type RoleName } from "./auth.js";
import type { StratavoreState } from "./state.js";

/** The role each ProjectService rpc needs. */
export const projectRoles: Record<keyof ServiceImpl<typeof ProjectService>, RoleName> = {
  createProject: Role.write,
  getProject: Role.read,
  listProjects: Role.read,
  updateProject: Role.write,
  deleteProject: Role.write,
};

/** `stratavore.v1.ProjectService` over the state. */
export function projectService(state: StratavoreState): ServiceImpl<typeof ProjectService> {
  return {
    async createProject(req) {
      const { project, warnings } = state.createProject({
        name: req.name,
        description: req.description,
        path: req.path,
        quota: req.quota,
        config: req.config,
        metadata: req.metadata,
      });
      return create(CreateProjectResponseSchema, { project, warnings });
    },
    async getProject(req) {
      return create(GetProjectResponseSchema, { project: state.projectView(req.name, req.includeStats) });
    },
    async listProjects(req) {
      const p = state.listProjects(req.status, req.includeStats, req.limit, req.offset);
      return create(ListProjectsResponseSchema, { projects: p.items, totalCount: p.totalCount, hasMore: p.hasMore });
    },
    async updateProject(req) {
      const project = state.updateProject({
        name: req.name,
        description: req.description,
        path: req.path,
        status: req.status,
        quota: req.quota,
        config: req.config,
        metadata: req.metadata,
      });
      return create(UpdateProjectResponseSchema, { project });
    },
    async deleteProject(req) {
      state.deleteProject(req.name);
      return create(DeleteProjectResponseSchema, { name: req.name });
    },
  };
}
