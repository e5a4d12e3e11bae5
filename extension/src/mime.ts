/**
 * The MIME renderer extensions: one per LoRA Recycle payload type. `safe: true` because every
 * payload is validated and drawn without markup from payload strings.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { MIME, type PayloadKind } from 'lora-recycle/display/schema';
import type { PayloadRenderer } from './renderers/base';
import { CurvesRenderer } from './renderers/curves';
import { EpisodeRenderer } from './renderers/episode';
import { GalleryRenderer } from './renderers/gallery';
import { PruningRenderer } from './renderers/pruning';
import { ZooRenderer } from './renderers/zoo';

type RendererClass = new (options: IRenderMime.IRendererOptions) => PayloadRenderer<PayloadKind>;

const RENDERERS: Record<PayloadKind, { Renderer: RendererClass; name: string }> = {
  gallery: { Renderer: GalleryRenderer, name: 'Inversion gallery' },
  pruning: { Renderer: PruningRenderer, name: 'Token pruning' },
  curves: { Renderer: CurvesRenderer, name: 'Training curves' },
  episode: { Renderer: EpisodeRenderer, name: 'Few-shot episode' },
  zoo: { Renderer: ZooRenderer, name: 'LoRA zoo' },
};

const extensions: IRenderMime.IExtension[] = (Object.keys(RENDERERS) as PayloadKind[]).map((kind) => ({
  id: `lora-recycle-jupyterlab:${kind}`,
  name: RENDERERS[kind].name,
  rendererFactory: {
    safe: true,
    mimeTypes: [MIME[kind]],
    defaultRank: 0,
    createRenderer: (options) => new RENDERERS[kind].Renderer(options),
  },
  rank: 0,
  dataType: 'json',
}));

export default extensions;
