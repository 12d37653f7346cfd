import * as z from "zod/mini";
import { naiveStopHandler } from "./handler.js";

export const handler = naiveStopHandler(z.object({ task_id: z.guid() }));
