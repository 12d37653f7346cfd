import { z } from "zod";
import { naiveStopHandler } from "./handler.js";

export const handler = naiveStopHandler(z.object({ task_id: z.string().uuid() }));
